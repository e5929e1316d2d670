"""Logout that sticks, "log out everywhere" and refresh-token rotation, shared over Redis.

Every instance of this app (run as many as you like behind a load balancer) keeps its sessions in
cookies and shares only revocations and refresh-token rotations through one Redis (or Valkey)
server, via Litestar's ``RedisStore`` registered as ``app.stores["sessions"]``:

- ``POST /login`` with JSON ``{"username": ..., "password": ...}`` (demo users ``ada`` /
  ``ada-password`` and ``bob`` / ``bob-password``) issues a signed access session (cookie
  ``access_token``, 5 minutes) and an encrypted refresh session (cookie ``refresh_token``, 7 days).
- ``GET /me`` needs a valid session. When the access session has expired, it is re-issued from the
  refresh session and the refresh token is *rotated*: a new one in the same family. Tabs racing
  with the same refresh token within 10 seconds all get the same successor; the old token
  presented again later means it was stolen: the whole family is revoked (everyone logs in again).
- ``POST /logout`` clears and revokes both sessions: a copy of the old cookies is useless on every
  instance, not only on this one.
- ``POST /logout-everywhere`` revokes every session of the user on every device
  (:func:`~litestar_jwtsession.revoke_subject`) and clears this one.

Run it with a Redis server on localhost::

    redis-server --port 6379 --save '' --appendonly no &
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn --factory examples.revocation_redis.app:create_app

The keys are generated per process unless you pass them to :func:`create_app`: several instances
must share the same keys (as they share the Redis server).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import msgspec
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody
from litestar.stores.redis import RedisStore
from redis.asyncio import BlockingConnectionPool, Redis

from litestar_jwtsession import (
    JWK,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    generate_jwk,
    requires_session,
    revoke_subject,
)

__all__ = ("DEMO_USERS", "create_app")

DEMO_USERS = {"ada": ("Ada", "ada-password"), "bob": ("Bob", "bob-password")}


class Credentials(msgspec.Struct):
    username: str
    password: str


@post("/login", status_code=200, raises=[NotAuthorizedException])  # raises: documents its 401
async def login(
    data: JSONBody[Credentials],
    access_token: NamedDependency[Session[Any]],
    refresh_token: NamedDependency[Session[Any]],
) -> dict[str, Any]:
    user = DEMO_USERS.get(data.username)
    if user is None or not secrets.compare_digest(user[1].encode(), data.password.encode()):
        raise NotAuthorizedException(detail="Unknown user or wrong password")
    claims = {"sub": data.username, "name": user[0]}
    await access_token.update(claims, replace=True)
    await refresh_token.update(claims, replace=True)
    return {"user": data.username}


@get("/me", guards=[requires_session()])
async def me(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
    return {"user": access_token.data["sub"], "name": access_token.data["name"], "session": access_token.id}


@post("/logout", status_code=200)
async def logout(
    access_token: NamedDependency[Session[Any]], refresh_token: NamedDependency[Session[Any]]
) -> dict[str, Any]:
    """Clear both sessions; with a store, ``clear()`` also revokes them until they would expire."""
    await access_token.clear()
    await refresh_token.clear()
    return {"logged_out": True}


@post("/logout-everywhere", status_code=200, guards=[requires_session()])
async def logout_everywhere(
    request: Request[Any, Any, Any],
    access_token: NamedDependency[Session[Any]],
    refresh_token: NamedDependency[Session[Any]],
) -> dict[str, Any]:
    """Revoke every session of this user issued up to now, on every device and instance."""
    await revoke_subject(request, access_token.data["sub"])
    await access_token.clear()
    await refresh_token.clear()
    return {"logged_out_everywhere": True}


def create_app(
    redis_url: str | None = None,
    *,
    access_key: KeyPair | None = None,
    refresh_key: JWK | None = None,
    rotation_grace: float = 10.0,
    namespace: str = "revocation_example",
    clock: Any = None,
) -> Litestar:
    """The app, sharing revocations and rotations through the Redis server at ``redis_url``
    (default: ``$REDIS_URL``, else ``redis://127.0.0.1:6379/0``) under the key prefix
    ``namespace``. ``clock`` (seconds since the epoch) is for tests."""
    url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    access_key = access_key or _generate("ES256")
    refresh_key = refresh_key or _generate("A256KW")
    timing: dict[str, Any] = {} if clock is None else {"clock": clock}
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=access_key, name="access_token", max_age="5m", **timing
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(
        key=refresh_key, name="refresh_token", max_age="7D", **timing
    )
    # A blocking pool: a burst of requests waits for a free connection instead of failing. The
    # socket timeouts bound the client's own waits on a hung server (the plugin's store_timeout
    # bounds each operation; past it the request answers 503 and keeps its cookies).
    pool = BlockingConnectionPool.from_url(
        url, max_connections=50, timeout=10, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    store = RedisStore(Redis(connection_pool=pool), namespace=namespace, handle_client_shutdown=True)
    return Litestar(
        route_handlers=[login, me, logout, logout_everywhere],
        # registered stores are closed with the app; the plugin finds this one by name
        stores={"sessions": store},
        plugins=[
            JWTSessionPlugin(access=access, refresh=refresh, store="sessions", rotation_grace=rotation_grace)
        ],
    )


def _generate(alg: str) -> Any:
    return generate_jwk(alg)
