"""Hostile input that used to answer 500 (issue 11, finding 8), through real requests.

- a chunk announcement with thousands of digits (``int()`` refuses past Python's digit limit),
  on a read, a guarded read and a write (which looks up the chunks to expire).

Each answers 401 on a guarded route and an anonymous session elsewhere; a refused token fires
``on_error`` with a stable code.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    HookEvent,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
    use_jws_session,
)
from litestar_jwtsession.session.cookies import MAX_CHUNKS
from tests.helpers import Recorder, send

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
