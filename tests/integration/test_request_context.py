"""The request context: one owner of a request's sessions, so however a handler reads its
session (a guard's ``request.auth``, an injected ``Session``, the functional API, or all of them
in one request), the token is verified once and its typed claims converted once."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.di import NamedDependency
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    SessionClaims,
    generate_jwk,
    requires_scopes,
    use_jws_session,
)
from litestar_jwtsession.integration.context import SCOPE_KEY
from litestar_jwtsession.session.context import RequestContext

BASE_URL = "https://testserver.local"
CONVERSIONS: list[str] = []


class Claims(SessionClaims, kw_only=True):
    sub: str
    scope: list[str]

    def __post_init__(self) -> None:
        CONVERSIONS.append(self.sub)  # msgspec runs it once per conversion


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> tuple[JWSSessionConfig[Claims], list[str], str]:
    """An access config with typed claims whose verifications are recorded, and a token of it."""
    config = JWSSessionConfig(key=generate_jwk("HS256"), name="access", claims=Claims)
    verified: list[str] = []
    original = config.codec._decode

    def recording(token: str, *args: Any) -> dict[str, Any]:
        verified.append(token)
        return original(token, *args)

    monkeypatch.setattr(config.codec, "_decode", recording)
    now = int(time.time())
    token = config.encode_token({"sub": "ada", "scope": ["read"], "jti": str(uuid.uuid4()), "iat": now})
    CONVERSIONS.clear()
    return config, verified, token


def app_for(config: JWSSessionConfig[Claims]) -> Litestar:
    guard = [requires_scopes("read")]

    @get("/auth", guards=guard)
    async def by_auth(request: Request[Any, Any, Any]) -> str:
        return str(request.auth.sub)

    @get("/injected", guards=guard)
    async def by_injection(access: NamedDependency[Session[Claims]]) -> str:
        return str(access.data["sub"])

    @get("/functional")
    async def by_function(request: Request[Any, Any, Any]) -> str:
        return str((await use_jws_session(request, config)).data["sub"])

    @get("/every-way", guards=guard)
    async def every_way(
        request: Request[Any, Any, Any], access: NamedDependency[Session[Claims]]
    ) -> dict[str, Any]:
        functional = await use_jws_session(request, config)
        context = request.scope[SCOPE_KEY]  # type: ignore[literal-required]
        return {
            "same_session": functional is access,
            "auth_is_the_session_claims": request.auth is access.claims,
            "one_context": isinstance(context, RequestContext) and list(context.sessions) == ["access"],
            "sub": access.data["sub"],
        }

    return Litestar(
        [by_auth, by_injection, by_function, every_way], plugins=[JWTSessionPlugin(access=config)]
    )


@pytest.mark.parametrize("path", ["/auth", "/injected", "/functional", "/every-way"])
def test_one_verification_and_one_conversion_per_request_whichever_way_it_is_read(
    setup: tuple[JWSSessionConfig[Claims], list[str], str], path: str
) -> None:
    config, verified, token = setup
    with TestClient(app_for(config), base_url=BASE_URL) as client:
        client.cookies.set("access", token)
        first = client.get(path)
        assert first.status_code == 200
        assert (len(verified), len(CONVERSIONS)) == (1, 1)  # first sight: verified once, converted once
        second = client.get(path)
        assert second.status_code == 200
        assert second.text == first.text
        # seen before: the cache spares the verification; the claims are converted once again
        assert (len(verified), len(CONVERSIONS)) == (1, 2)


def test_every_reader_of_a_request_shares_one_session(
    setup: tuple[JWSSessionConfig[Claims], list[str], str],
) -> None:
    config, _, token = setup
    with TestClient(app_for(config), base_url=BASE_URL) as client:
        client.cookies.set("access", token)
        for _ in range(2):  # the full read, then the cached one
            assert client.get("/every-way").json() == {
                "same_session": True,
                "auth_is_the_session_claims": True,
                "one_context": True,
                "sub": "ada",
            }


def test_a_route_that_never_reads_a_session_creates_no_context(
    setup: tuple[JWSSessionConfig[Claims], list[str], str],
) -> None:
    config, verified, token = setup
    seen: list[Any] = []

    @get("/plain")
    async def plain(request: Request[Any, Any, Any]) -> str:
        seen.append(request.scope.get(SCOPE_KEY))  # type: ignore[call-overload]
        return "ok"

    app = Litestar([plain], plugins=[JWTSessionPlugin(access=config)])
    with TestClient(app, base_url=BASE_URL) as client:
        client.cookies.set("access", token)
        assert client.get("/plain").status_code == 200
    assert seen == [None]
    assert verified == []
