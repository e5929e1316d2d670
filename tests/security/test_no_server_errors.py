"""Hostile input that used to answer 500 (issue 11, finding 8), through real requests.

- a chunk announcement with thousands of digits (``int()`` refuses past Python's digit limit),
  on a read, a guarded read and a write (which looks up the chunks to expire);
- a protected header nested deeper than the stack allows, with and without an ``on_key_lookup``
  hook (the hook's path parsed the header outside the decode's catch-all).

Each answers 401 on a guarded route and an anonymous session elsewhere; a refused token fires
``on_error`` with a stable code.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    HookEvent,
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionError,
    generate_jwk,
    requires_session,
    use_jws_session,
)
from litestar_jwtsession.session.cookies import MAX_CHUNKS
from tests.helpers import Recorder, b64url, forge_jws, send

HS256 = generate_jwk("HS256")
NAME = "hostile"
HEADER_NAME = "x-hostile-session"


def _app(*, key_lookup: bool) -> tuple[Litestar, Recorder]:
    config = JWSSessionConfig(key=HS256, name=NAME)  # session header: x-hostile-session
    recorder = Recorder(config)
    if key_lookup:

        @config.hooks.on_key_lookup
        def lookup(event: HookEvent) -> Any:
            return HS256

    @get("/read")
    async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"id": (await use_jws_session(request, config)).id}

    @get("/guarded", guards=[requires_session()])
    async def guarded() -> str:
        return "secret"

    @post("/login", status_code=200)
    async def login(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, config)
        await session.update({"sub": "ada"})
        return {"id": session.id}

    app = Litestar([read, guarded, login], plugins=[JWTSessionPlugin(access=config)])
    return app, recorder


def _client(app: Litestar) -> TestClient[Any]:
    # a 500 is reported as a status, not re-raised, so a regression reads as "500 != 401"
    return TestClient(app, base_url="https://testserver.local", raise_server_exceptions=False)


def test_a_chunk_count_past_the_digit_limit_reads_anonymous() -> None:
    app, recorder = _app(key_lookup=False)
    cookie = f"{NAME}=__chunked__{'9' * 5000}; {NAME}.1=x"
    with _client(app) as client:
        assert send(client, "/read", cookie=cookie).json() == {"id": None}
        guarded = send(client, "/guarded", cookie=cookie)
        assert guarded.status_code == 401
        assert guarded.headers["www-authenticate"] == "Bearer"
        # the write expires the chunks the request announced: at most MAX_CHUNKS of them
        written = send(client, "/login", method="POST", cookie=cookie)
        assert written.status_code == 200
        expired = [h for h in written.headers.get_list("set-cookie") if h.startswith(f"{NAME}.")]
        assert len(expired) == MAX_CHUNKS
    assert recorder.of("on_error") == []  # no token at all: nothing to refuse


def _nested_header_token(depth: int) -> str:
    now = int(time.time())
    genuine = forge_jws({"jti": "j", "iat": now, "exp": now + 60}, HS256)
    header = '{"alg":"HS256","typ":"JWT","x":' + "[" * depth + "]" * depth + "}"
    return ".".join([b64url(header), *genuine.split(".")[1:]])


@pytest.mark.parametrize("key_lookup", [True, False], ids=["key-lookup", "configured-key"])
@pytest.mark.parametrize("transport", ["cookie", "header"])
@pytest.mark.parametrize("depth", [1500, 50])
def test_a_deeply_nested_header_is_refused(key_lookup: bool, transport: str, depth: int) -> None:
    app, recorder = _app(key_lookup=key_lookup)
    token = _nested_header_token(depth)
    carry: dict[str, Any] = (
        {"cookie": f"{NAME}={token}"} if transport == "cookie" else {"headers": {HEADER_NAME: token}}
    )
    with _client(app) as client:
        guarded = send(client, "/guarded", **carry)
        assert guarded.status_code == 401
        assert [call.code for call in recorder.of("on_error")] == ["ERR_JWS_INVALID"]
        recorder.clear()
        assert send(client, "/read", **carry).json() == {"id": None}
        assert [call.code for call in recorder.of("on_error")] == ["ERR_JWS_INVALID"]


def test_header_nesting_bound() -> None:
    """The bound leaves room for real headers (a JWK with ``oth`` in ``jwk`` nests 4 levels)."""
    codec = JWSSessionConfig(key=HS256, name=NAME).codec
    assert codec.header(_nested_header_token(7))["x"] == [[[[[[[]]]]]]]  # 8 levels with the header
    with pytest.raises(SessionError) as refused:
        codec.header(_nested_header_token(8))
    assert refused.value.code == "ERR_JWS_INVALID"
    oth = {"jwk": {"kty": "RSA", "oth": [{"r": "a", "d": "b", "t": "c"}]}, "alg": "RS256"}
    assert codec.header(f"{b64url(json.dumps(oth))}.e30.sig")["jwk"]["oth"][0]["t"] == "c"
