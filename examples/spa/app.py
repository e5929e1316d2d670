"""A single-page app: plain HTML and ``fetch()``, served by Litestar, with JWT sessions in cookies.

Run it with ``make run-spa`` (or ``.venv/bin/uvicorn examples.spa.app:app``) and open
http://localhost:8000/ (browsers keep ``Secure`` cookies on ``http://localhost``). Log in as
``alice`` / ``wonderland`` or ``bob`` / ``builder``.

- ``GET /``: the page (``static/index.html``, its script ``static/app.js``).
- ``POST /api/login``: JSON ``{"username": ..., "password": ...}``; sets both sessions (401 on
  wrong credentials).
- ``GET /api/me``: guarded by ``requires_session()``; the user and the access session's
  ``expiresAt`` (milliseconds since the epoch), which drives the page's countdown.
- ``POST /api/logout``: clears both sessions.
- ``GET /api/sessions``, ``DELETE /api/sessions/{id}``, ``POST /api/sessions/revoke-others``: the
  "Your devices" view (the library's ``DeviceSessionsController``): every device logged in as the
  same user, ended one by one or all but this one.

The access session is a JWS (ES256), short-lived and readable by the page (not HttpOnly); the
refresh session is a JWE (A256KW, HttpOnly). There is no refresh endpoint: once the access cookie
has expired the browser stops sending it, and the next read of the access session (here the guard
of ``/api/me``) is answered by the plugin's refresh fallback, which re-issues the access session
from the refresh session and sets the new cookie on the same response. The page shows a countdown
to the access expiry and simply calls ``/api/me`` again when it reaches zero.

The app keeps a ``MemoryStore`` (one process; a ``RedisStore`` shares it between instances): logout
revokes the tokens, the refresh token rotates on every refresh, and every login is a device
session. Ending a device revokes its refresh family and the access session issued with it: that
browser's next request is refused and the page shows it logged out.

Keys are generated when the app is created, so restarting the server logs everybody out. Set
``SPA_ACCESS_MAX_AGE`` (seconds) to change the access lifetime of the module-level ``app``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, MediaType, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore

from litestar_jwtsession import (
    DeviceSessionsController,
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    generate_jwk,
    requires_session,
)

__all__ = (
    "ACCESS_SESSION",
    "DEMO_USERS",
    "REFRESH_SESSION",
    "DeviceRoutes",
    "LoginBody",
    "app",
    "create_app",
    "session_configs",
)

STATIC_DIR = Path(__file__).with_name("static")
ACCESS_SESSION = "spa_access"
REFRESH_SESSION = "spa_refresh"
DEFAULT_ACCESS_MAX_AGE = 60
DEFAULT_REFRESH_MAX_AGE = 8 * 3600
REFRESHED_STATE_KEY = "spa_access_refreshed"

# Demo users: username -> (password, display name, scopes). A real app checks a user store.
DEMO_USERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "alice": ("wonderland", "Alice", ("read:profile",)),
    "bob": ("builder", "Bob", ("read:profile", "write:profile")),
}


class LoginBody(msgspec.Struct):
    username: str
    password: str


class DeviceRoutes(DeviceSessionsController):
    """The library's device-session routes, under the page's API prefix."""

    path = "/api/sessions"


def session_configs(
    *,
    access_max_age: int = DEFAULT_ACCESS_MAX_AGE,
    refresh_max_age: int = DEFAULT_REFRESH_MAX_AGE,
    clock: Callable[[], float] = time.time,
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    """Fresh keys and the two session configs: ES256-signed access, A256KW-encrypted refresh."""
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=generate_jwk("ES256"),
        name=ACCESS_SESSION,
        max_age=access_max_age,
        dependency_key="access",
        clock=clock,
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(
        key=generate_jwk("A256KW"),  # an oct key: no PBES2, so sealing and opening are fast
        name=REFRESH_SESSION,
        max_age=refresh_max_age,
        dependency_key="refresh",
        clock=clock,
    )

    @access.hooks.on_refresh
    def mark_refreshed(event: HookEvent) -> None:
        # Only records that the plugin is about to re-issue the access session; returning None
        # keeps the default (the refresh session's data).
        event.connection.scope.setdefault("state", {})[REFRESHED_STATE_KEY] = True

    return access, refresh


def _describe(access: Session[Any], request: Request[Any, Any, Any] | None = None) -> dict[str, Any]:
    """The JSON the page gets: who is logged in and when the access session expires (ms)."""
    refreshed = request is not None and bool(request.scope.get("state", {}).get(REFRESHED_STATE_KEY))
    return {
        "user": access.data.get("sub"),
        "name": access.data.get("name"),
        "scope": access.data.get("scope", []),
        "sessionId": access.id,
        "issuedAt": access.created_at,
        "expiresAt": access.expires_at,
        "refreshed": refreshed,
    }


def create_app(
    *,
    access_max_age: int = DEFAULT_ACCESS_MAX_AGE,
    refresh_max_age: int = DEFAULT_REFRESH_MAX_AGE,
    clock: Callable[[], float] = time.time,
    debug: bool = False,
) -> Litestar:
    """Build the SPA example; tests pass a short ``access_max_age`` (seconds) or a fake ``clock``."""
    access_config, refresh_config = session_configs(
        access_max_age=access_max_age, refresh_max_age=refresh_max_age, clock=clock
    )

    index_html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    @get("/", media_type=MediaType.HTML)
    async def index() -> str:
        return index_html

    @post("/api/login", status_code=200, raises=[NotAuthorizedException])  # raises: documents its 401
    async def login(
        data: JSONBody[LoginBody],
        access: NamedDependency[Session[Any]],
        refresh: NamedDependency[Session[Any]],
    ) -> dict[str, Any]:
        user = DEMO_USERS.get(data.username)
        if user is None or user[0] != data.password:
            raise NotAuthorizedException(detail="Wrong username or password")
        _password, name, scopes = user
        claims = {"sub": data.username, "name": name, "scope": list(scopes)}
        # the refresh session first: the access session written after it carries its device id,
        # so ending this device (from another one) refuses this access session at once
        await refresh.update(claims, replace=True)
        await access.update(claims, replace=True)
        return _describe(access)

    @get("/api/me", guards=[requires_session()])
    async def me(request: Request[Any, Any, Any], access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        return _describe(access, request)

    @post("/api/logout", status_code=200)
    async def logout(
        access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]
    ) -> dict[str, bool]:
        await access.clear()
        await refresh.clear()
        return {"ok": True}

    return Litestar(
        route_handlers=[
            index,
            login,
            me,
            logout,
            DeviceRoutes,
            create_static_files_router(path="/static", directories=[STATIC_DIR]),
        ],
        # csrf=True: unsafe requests that carry cookie sessions must echo the "-csrf" cookie
        # the store: revocation on logout, refresh-token rotation and the device sessions
        plugins=[
            JWTSessionPlugin(access=access_config, refresh=refresh_config, csrf=True, store=MemoryStore())
        ],
        debug=debug,
    )


app = create_app(access_max_age=int(os.environ.get("SPA_ACCESS_MAX_AGE", DEFAULT_ACCESS_MAX_AGE)))
