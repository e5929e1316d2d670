"""Application factories for the over-HTTP benchmark (served by uvicorn in a child process).

Each guarded app has a ``GET /token`` route that mints a session token, so the benchmark can
fetch one before loading the guarded route with it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get
from litestar.security.jwt import JWTCookieAuth, Token

from benchmarks.scenarios import CLAIMS, in_one_hour, litestar_keys
from litestar_jwtsession import (
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_scopes,
    use_jws_session,
)


async def _noop_guard(connection: Any, handler: Any) -> None:
    return None


async def _handler(request: Request[Any, Any, Any]) -> str:
    return "ok"


def bare_app() -> Litestar:
    @get("/bare")
    async def bare() -> str:
        return "ok"

    return Litestar([bare, get("/noop", guards=[_noop_guard])(_handler)], openapi_config=None)


def _ours(alg: str) -> Litestar:
    access = JWSSessionConfig(key=generate_jwk(alg), name="access")

    @get("/token")
    async def token(request: Request[Any, Any, Any]) -> str:
        session = await use_jws_session(request, access)
        await session.update(CLAIMS)
        return str(session.token)

    @get("/plain")
    async def plain() -> str:
        return "ok"

    guarded = get("/guarded", guards=[requires_scopes("read")])(_handler)
    return Litestar([token, plain, guarded], plugins=[JWTSessionPlugin(access=access)], openapi_config=None)


def ours_hs256() -> Litestar:
    return _ours("HS256")


def ours_es256() -> Litestar:
    return _ours("ES256")


def _litestar(alg: str) -> Litestar:
    sign_key, verify_key = litestar_keys(alg)

    async def retrieve_user(token: Token, connection: Any) -> dict[str, Any]:
        return {"id": token.sub}

    auth = JWTCookieAuth[dict[str, Any], Token](
        retrieve_user_handler=retrieve_user, token_secret=verify_key, algorithm=alg, exclude=["^/token"]
    )

    @get("/token")
    async def token() -> str:
        return Token(exp=in_one_hour(), sub="user-1", extras={"scope": ["read"]}).encode(sign_key, alg)

    guarded = get("/guarded")(_handler)
    return Litestar([token, guarded], on_app_init=[auth.on_app_init], openapi_config=None)


def litestar_hs256() -> Litestar:
    return _litestar("HS256")


def litestar_es256() -> Litestar:
    return _litestar("ES256")
