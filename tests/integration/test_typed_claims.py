"""Typed claims (``claims=SomeStruct``) and typed injection (``NamedDependency[Session[Claims]]``)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import time
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.testing import TestClient

from litestar_jwtsession import (
    ErrorCode,
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    SessionClaims,
    generate_jwk,
    requires_scopes,
    requires_session,
)
from tests.helpers import forge_jws, jws_claims

if TYPE_CHECKING:
    from pathlib import Path

BASE_URL = "https://testserver.local"
HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")


class AccessClaims(SessionClaims):
    name: str
    scope: list[str]


class RefreshClaims(SessionClaims):
    name: str
    scope: list[str]
    device: str = "unknown"


class PlainClaims(msgspec.Struct):
    """A struct that does not extend SessionClaims."""

    sub: str
    jti: str
    iat: int
    exp: int | None = None


def make_app(*handlers: Any, **plugin_kwargs: Any) -> tuple[Litestar, JWSSessionConfig[AccessClaims]]:
    access: JWSSessionConfig[AccessClaims] = JWSSessionConfig(
        key=HS256, name="access", max_age="15m", claims=AccessClaims
    )
    refresh: JWESessionConfig[RefreshClaims] = JWESessionConfig(
        key=A256KW, name="refresh", max_age="1h", claims=RefreshClaims
    )
    app = Litestar(
        list(handlers), plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)]
    )
    return app, access


@post("/login", status_code=200)
async def login(
    access: NamedDependency[Session[AccessClaims]], refresh: NamedDependency[Session[RefreshClaims]]
) -> dict[str, Any]:
    claims = AccessClaims(name="Ada", scope=["read", "write"], sub="ada", jti="forged", iat=1, exp=2)
    await access.update(claims, replace=True)
    await refresh.update(RefreshClaims(name="Ada", scope=["read", "write"], sub="ada", device="laptop"))
    assert isinstance(access.claims, AccessClaims)
    assert isinstance(refresh.claims, RefreshClaims)
    return {"access": access.token, "refresh": refresh.token}


@get("/claims")
async def read_claims(access: NamedDependency[Session[AccessClaims]]) -> dict[str, Any]:
    claims = access.claims
    if claims is None:
        return {"anonymous": True, "data": access.data}
    assert isinstance(claims, AccessClaims)
    return {
        "type": type(claims).__name__,
        "claims": msgspec.to_builtins(claims),
        "id": access.id,
        "created_at": access.created_at,
        "expires_at": access.expires_at,
        "data": access.data,
    }


def test_claims_are_converted_from_the_verified_payload() -> None:
    app, _ = make_app(login, read_claims)
    with TestClient(app, base_url=BASE_URL) as client:
        tokens = client.post("/login").json()
        payload = jws_claims(tokens["access"])
        # jti/iat/exp are the session's own, not the struct's; unset optional claims are omitted
        assert payload["jti"] != "forged"
        assert payload["iat"] != 1
        assert payload["exp"] == payload["iat"] + 900
        assert set(payload) == {"name", "scope", "sub", "jti", "iat", "exp"}

        body = client.get("/claims").json()
        assert body["type"] == "AccessClaims"
        assert body["claims"] == payload  # including jti, iat, exp
        assert body["id"] == payload["jti"]
        assert body["created_at"] == payload["iat"] * 1000
        assert body["expires_at"] == payload["exp"] * 1000
        assert body["data"] == {"name": "Ada", "scope": ["read", "write"], "sub": "ada"}


def test_update_accepts_a_mapping_and_keeps_claims_typed() -> None:
    @post("/rename", status_code=200)
    async def rename(access: NamedDependency[Session[AccessClaims]]) -> dict[str, Any]:
        await access.update({"name": "Ada L.", "jti": "ignored", "exp": 1})
        assert isinstance(access.claims, AccessClaims)
        return {"name": access.claims.name, "jti": access.claims.jti, "id": access.id}

    app, _ = make_app(login, rename, read_claims)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        body = client.post("/rename").json()
        assert body["name"] == "Ada L."
        assert body["jti"] == body["id"] != "ignored"
        claims = client.get("/claims").json()["claims"]
        assert claims["name"] == "Ada L."
        assert claims["scope"] == ["read", "write"]
        assert claims["exp"] > time.time()


def test_update_that_does_not_convert_fails_and_rolls_back() -> None:
    errors: list[str] = []

    @post("/break", status_code=200)
    async def break_it(access: NamedDependency[Session[AccessClaims]]) -> dict[str, Any]:
        before = (access.id, access.token, dict(access.data))
        try:
            await access.update({"scope": "read write"})  # a string does not convert to list[str]
        except Exception as exc:
            errors.append(str(getattr(exc, "code", type(exc).__name__)))
        return {"unchanged": (access.id, access.token, access.data) == before}

    app, _ = make_app(login, break_it, read_claims)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        response = client.post("/break")
        assert response.json() == {"unchanged": True}
        assert errors == ["ERR_JWT_CLAIMS_CONVERSION"]
        assert "set-cookie" not in response.headers
        assert client.get("/claims").json()["claims"]["scope"] == ["read", "write"]


@pytest.mark.parametrize(
    "bad",
    [
        {"scope": ["read"]},  # name missing
        {"name": 5, "scope": ["read"]},  # wrong type
        {"name": "Ada", "scope": "read"},  # a string where the struct wants a list
        {"name": "Ada", "scope": ["read"], "sub": 7},
    ],
)
def test_a_payload_that_does_not_convert_is_an_invalid_token(bad: dict[str, Any]) -> None:
    app, access = make_app(read_claims, guarded_claims)
    events: list[HookEvent] = []
    access.hooks.on_error(events.append)
    access.hooks.on_read(events.append)
    now = int(time.time())
    token = forge_jws({**bad, "jti": str(uuid.uuid4()), "iat": now, "exp": now + 60}, HS256)
    with TestClient(app, base_url=BASE_URL) as client:
        body = client.get("/claims", headers={"x-access-session": token}).json()
        assert body == {"anonymous": True, "data": {}}
        assert len(events) == 1
        assert events[0].error is not None
        assert events[0].error.code == ErrorCode.CLAIMS_CONVERSION == "ERR_JWT_CLAIMS_CONVERSION"

        response = client.get("/guarded", headers={"x-access-session": token})
        assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")


@get("/guarded", guards=[requires_scopes("read")])
async def guarded_claims(
    request: Request[Any, Any, Any], access: NamedDependency[Session[AccessClaims]]
) -> str:
    assert isinstance(request.auth, AccessClaims)
    assert request.auth is access.claims
    assert request.user is request.auth
    return request.auth.name


def test_guards_read_scopes_from_typed_claims() -> None:
    app, _ = make_app(login, guarded_claims)
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get("/guarded").status_code == 401
        client.post("/login")
        response = client.get("/guarded")
        assert (response.status_code, response.text) == (200, "Ada")


def test_retrieve_user_handler_receives_typed_claims() -> None:
    seen: list[Any] = []

    async def retrieve_user(claims: Any, connection: Any) -> dict[str, str]:
        seen.append(claims)
        return {"name": claims.name}

    @get("/user", guards=[requires_session()])
    async def user(request: Request[dict[str, str], AccessClaims, Any]) -> dict[str, Any]:
        return {"user": request.user, "auth_type": type(request.auth).__name__}

    app, _ = make_app(login, user, retrieve_user_handler=retrieve_user)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        assert client.get("/user").json() == {"user": {"name": "Ada"}, "auth_type": "AccessClaims"}
        assert isinstance(seen[0], AccessClaims)


@pytest.mark.parametrize("known", [True, False])
def test_a_sync_retrieve_user_handler_works_like_an_async_one(known: bool) -> None:
    """Litestar's own auth backends take sync and async callables; so do the session guards."""

    def retrieve_user(claims: Any, connection: Any) -> dict[str, str] | None:
        return {"name": claims.name} if known else None

    @get("/user", guards=[requires_session()])
    async def user(request: Request[dict[str, str], AccessClaims, Any]) -> dict[str, Any]:
        return {"user": request.user}

    app, _ = make_app(login, user, retrieve_user_handler=retrieve_user)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        response = client.get("/user")
        if known:
            assert response.json() == {"user": {"name": "Ada"}}
        else:
            assert response.status_code == 401


def test_struct_not_extending_session_claims() -> None:
    config: JWSSessionConfig[PlainClaims] = JWSSessionConfig(key=HS256, name="plain", claims=PlainClaims)

    @post("/set", status_code=200)
    async def set_session(plain: NamedDependency[Session[PlainClaims]]) -> dict[str, Any]:
        await plain.update({"sub": "ada"})
        assert isinstance(plain.claims, PlainClaims)
        return {"sub": plain.claims.sub, "jti": plain.claims.jti, "exp": plain.claims.exp}

    app = Litestar([set_session], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url=BASE_URL) as client:
        body = client.post("/set").json()
        assert body["sub"] == "ada"
        assert body["jti"]
        assert body["exp"] is None


def test_claims_must_be_a_struct() -> None:
    from litestar_jwtsession.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        JWSSessionConfig(key=HS256, claims=dict)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- signature namespace


def test_plugin_adds_claims_types_to_the_signature_namespace() -> None:
    app, _ = make_app(read_claims)
    namespace = app.signature_namespace
    assert namespace["AccessClaims"] is AccessClaims
    assert namespace["RefreshClaims"] is RefreshClaims
    assert namespace["Session"] is Session
    assert namespace["SessionClaims"] is SessionClaims


def test_handler_with_locally_defined_claims_resolves_through_the_namespace() -> None:
    """Annotations are strings here (``from __future__ import annotations``) and ``LocalClaims`` is
    not a module global, so only the plugin's signature namespace can resolve it."""

    class LocalClaims(SessionClaims):
        nick: str

    config: JWSSessionConfig[Any] = JWSSessionConfig(key=HS256, name="local-session", claims=LocalClaims)

    @post("/local", status_code=200)
    async def local(local_session: NamedDependency[Session[LocalClaims]]) -> str:
        await local_session.update(LocalClaims(nick="ada"))
        assert isinstance(local_session.claims, LocalClaims)
        return local_session.claims.nick

    app = Litestar([local], plugins=[JWTSessionPlugin(sessions=[config])])
    assert app.signature_namespace["LocalClaims"] is LocalClaims
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.post("/local").text == "ada"


CLAIMS_MODULE = """
from litestar_jwtsession import SessionClaims


class ShopClaims(SessionClaims):
    name: str
    scope: list[str]
"""

HANDLERS_MODULE = """
from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import get, post
from litestar.di import NamedDependency

from litestar_jwtsession import requires_scopes

if TYPE_CHECKING:
    from {claims_module} import ShopClaims
    from litestar_jwtsession import Session


@post("/login", status_code=200)
async def login(shop: NamedDependency[Session[ShopClaims]]) -> str:
    await shop.update({{"name": "Ada", "scope": ["read"]}})
    return type(shop.claims).__name__


@get("/me", guards=[requires_scopes("read")])
async def me(shop: NamedDependency[Session[ShopClaims]]) -> dict[str, str]:
    claims = shop.claims
    assert claims is not None
    return {{"name": claims.name, "type": type(claims).__name__}}
"""


def test_claims_imported_only_under_type_checking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suffix = uuid.uuid4().hex[:8]
    claims_module, handlers_module = f"tc_claims_{suffix}", f"tc_handlers_{suffix}"
    (tmp_path / f"{claims_module}.py").write_text(textwrap.dedent(CLAIMS_MODULE))
    (tmp_path / f"{handlers_module}.py").write_text(HANDLERS_MODULE.format(claims_module=claims_module))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        claims_mod = importlib.import_module(claims_module)
        handlers = importlib.import_module(handlers_module)
        assert not hasattr(handlers, "ShopClaims")
        assert not hasattr(handlers, "Session")

        config: JWSSessionConfig[Any] = JWSSessionConfig(key=HS256, name="shop", claims=claims_mod.ShopClaims)
        app = Litestar([handlers.login, handlers.me], plugins=[JWTSessionPlugin(access=config)])
        with TestClient(app, base_url=BASE_URL) as client:
            assert client.get("/me").status_code == 401
            assert client.post("/login").text == "ShopClaims"
            assert client.get("/me").json() == {"name": "Ada", "type": "ShopClaims"}
    finally:
        sys.modules.pop(claims_module, None)
        sys.modules.pop(handlers_module, None)


def test_injection_emits_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    """``filterwarnings = error`` already turns warnings into failures; this makes it explicit."""
    app, _ = make_app(login, read_claims, guarded_claims)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        assert client.get("/guarded").status_code == 200
    assert [str(w.message) for w in recwarn] == []
