"""A real app with every kind of session the test helpers must handle.

- ``access`` (JWS, HS256, 5 minutes) and ``refresh`` (JWE, A256KW, 1 day) cookies with the
  refresh fallback;
- ``chunky`` (JWS, cookie chunks of 100 characters, so every token is chunked);
- ``api`` (JWS, header only, read from ``Authorization``);
- with ``csrf=True``, the plugin protects the cookie sessions against CSRF.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import Cookie

from litestar_jwtsession import (
    CookieOptions,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
    use_jwe_session,
    use_jws_session,
)

BASE_URL = "https://testserver.local"
ACCESS, REFRESH, CHUNKY, API = "access", "refresh", "chunky", "api"
ACCESS_MAX_AGE = 300
REFRESH_MAX_AGE = 86_400
CHUNK = 100


def session_configs(clock: Any, **access_options: Any) -> list[Any]:
    """The four configs, all on ``clock``; ``access_options`` go to the access config."""
    return [
        JWSSessionConfig(
            key=generate_jwk("HS256"), name=ACCESS, max_age=ACCESS_MAX_AGE, clock=clock, **access_options
        ),
        JWESessionConfig(key=generate_jwk("A256KW"), name=REFRESH, max_age=REFRESH_MAX_AGE, clock=clock),
        JWSSessionConfig(
            key=generate_jwk("HS256"),
            name=CHUNKY,
            max_age=ACCESS_MAX_AGE,
            cookie=CookieOptions(chunk_max_length=CHUNK),
            clock=clock,
        ),
        JWSSessionConfig(
            key=generate_jwk("HS256"),
            name=API,
            cookie=False,
            session_header="authorization",
            clock=clock,
        ),
    ]


def create_app(clock: Any, *, csrf: bool | None = None, **access_options: Any) -> Litestar:
    access, refresh, chunky, api = configs = session_configs(clock, **access_options)
    by_name = {config.name: config for config in configs}

    async def read(request: Request[Any, Any, Any], name: str | None = None) -> Any:
        config = by_name[name or request.path_params["name"]]
        if isinstance(config, JWESessionConfig):
            return await use_jwe_session(request, config)
        return await use_jws_session(request, config)

    @post("/login/{name:str}", status_code=200)
    async def login(request: Request[Any, Any, Any]) -> dict[str, Any]:
        """What an app's login route does: ``update(claims, replace=True)``."""
        session = await read(request)
        await session.update(await request.json(), replace=True)
        return {"id": session.id, "token": session.token, "csrf": session.csrf_token}

    @get("/whoami", guards=[requires_session()])
    async def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"claims": request.auth}

    @post("/write", status_code=200, guards=[requires_session()])
    async def write(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"sub": request.auth["sub"]}

    @get("/session/{name:str}")
    async def session(request: Request[Any, Any, Any]) -> dict[str, Any]:
        current = await read(request)
        return {"id": current.id, "data": current.data, "expires_at": current.expires_at}

    @post("/logout", status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> dict[str, bool]:
        for name in (ACCESS, REFRESH):
            await (await read(request, name)).clear()
        return {"ok": True}

    @get("/remember-me")
    async def remember_me() -> Response[dict[str, bool]]:
        """An app cookie of its own, with ``Max-Age`` (seconds from when it arrives)."""
        return Response({"ok": True}, cookies=[Cookie(key="remember", value="yes", max_age=60, secure=True)])

    return Litestar(
        route_handlers=[login, whoami, write, session, logout, remember_me],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, sessions=[chunky, api], csrf=csrf)],
    )
