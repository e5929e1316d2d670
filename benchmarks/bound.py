"""The least code that serves each handler shape in this design: a bound for the ratios.

Each handler shape of :func:`benchmarks.scenarios._handler_shapes` is served here by the shortest
code that still does what the shape needs for that one configuration (an HS256 access session in
a cookie, a session header, no hooks, no store, no CSRF, no user lookup), in the design the
library has: a guard that reads the session and exposes it on ``request.auth``, an ``async``
dependency or function for the session object, and a before-send hook for the cookies. The
guard finds the token (a token in the session header would win over the cookie: the bound then
refuses, serving cookies only), takes its verified payload from the verified-token cache with
the time check, decodes it once and gives ``request.auth`` a copy of its own; the session object
a handler asks for is built from the same claims; the hook would write changed cookies and lets
the request go when its response ends.

It is not a usable implementation: nothing else a real one must handle is there (route
opt-outs, a second guard, writes and their cookies, the refresh fallback, CSRF, revocation,
WebSockets, chunked cookies, typed claims, background tasks, hooks). It measures Litestar's
guard, dependency and hook machinery plus the least session work this configuration needs, so
an implementation of this design can come near the bound's ratios in the same run but not pass
them by more than the noise of a run.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Litestar, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException

from benchmarks.driver import Probe
from litestar_jwtsession import JWSSessionConfig, generate_jwk
from litestar_jwtsession.session.claims import RESERVED_CLAIMS
from litestar_jwtsession.session.cookies import parse_cookie_value

if TYPE_CHECKING:
    from litestar.types import Message, Scope

__all__ = ("bound_shapes",)

SHAPE_PATHS = ("/guard-only", "/auth", "/injected", "/functional")
_KEY = "bound_session"


class _BoundSession:
    """What a handler reads from a session: its id, times, data and token."""

    __slots__ = ("created_at", "data", "expires_at", "id", "token")

    def __init__(self, token: str, claims: dict[str, Any]) -> None:
        self.id = claims["jti"]
        self.created_at = claims["iat"] * 1000
        exp = claims.get("exp")
        self.expires_at = None if exp is None else exp * 1000
        data = dict(claims)
        for name in RESERVED_CLAIMS:
            data.pop(name, None)
        self.data = data
        self.token = token


class _BoundRequest:
    """The per-request state: the verified claims, the session built from them, the connection."""

    __slots__ = ("claims", "connection", "session", "token")

    def __init__(self, connection: Any, token: str, claims: dict[str, Any]) -> None:
        self.connection = connection
        self.token = token
        self.claims = claims
        self.session: _BoundSession | None = None

    def session_of(self) -> _BoundSession:
        session = self.session
        if session is None:
            session = self.session = _BoundSession(self.token, self.claims)
        return session


def _bound_app(config: JWSSessionConfig[Any]) -> Litestar:
    header_key = config.header_key
    cache = config.codec.cache
    decode = msgspec.json.decode

    async def guard(connection: Any, route_handler: Any) -> None:
        scope = connection.scope
        in_header = None
        cookie = None
        for name, value in scope["headers"]:
            if name == header_key and in_header is None:
                in_header = value
            elif name == b"cookie" and cookie is None:
                cookie = value
        token = None if in_header or cookie is None else parse_cookie_value(cookie).get(config.name)
        if token is None:
            raise NotAuthorizedException("the bound serves a cookie session only")
        now = time.time()
        payload = cache.payload(token, now)
        if payload is None:  # first sight of the token: verify it (the cache keeps it)
            config.codec.decode(token, now=now)
            payload = cache.payload(token, now)
        claims = decode(payload)
        scope[_KEY] = _BoundRequest(connection, token, claims)
        scope["auth"] = scope["user"] = dict(claims)

    async def before_send(message: Message, scope: Scope) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            # a real implementation renders the cookies of the sessions that changed here; the
            # handlers of these shapes change none, so the bound only looks for its state
            scope.get(_KEY)
        elif kind == "http.response.body" and not message.get("more_body"):
            state = scope.get(_KEY)  # type: ignore[assignment]
            if state is not None:
                state.connection = None

    async def use_session(request: Request[Any, Any, Any]) -> _BoundSession:
        """The session: the provider of the injected shape, called by the functional one."""
        state: _BoundRequest = request.scope[_KEY]  # type: ignore[literal-required]
        return state.session_of()

    @get("/guard-only", guards=[guard])
    async def guard_only(request: Request[Any, Any, Any]) -> str:
        return "ok"

    @get("/auth", guards=[guard])
    async def reads_auth(request: Request[Any, Any, Any]) -> str:
        return str(request.auth["sub"])

    @get("/injected", guards=[guard], dependencies={"access": Provide(use_session)})
    async def injected(access: NamedDependency[_BoundSession]) -> str:
        return str(access.data["sub"])

    @get("/functional", guards=[guard])
    async def functional(request: Request[Any, Any, Any]) -> str:
        session = await use_session(request)
        return str(session.data["sub"])

    routes = [guard_only, reads_auth, injected, functional]
    namespace = {"_BoundSession": _BoundSession}
    return Litestar(routes, before_send=[before_send], openapi_config=None, signature_namespace=namespace)


def bound_shapes(claims: dict[str, Any]) -> dict[str, Probe]:
    """``{path: probe}`` of the bound for each handler shape, the cookie holding ``claims``."""
    # the config and the token of benchmarks.scenarios._handler_shapes: no max_age, so no exp
    access = JWSSessionConfig(key=generate_jwk("HS256"), name="access")
    token = access.encode_token({**claims, "jti": str(uuid.uuid4()), "iat": int(time.time())})
    cookie = [("cookie", f"access={token}")]
    app = _bound_app(access)
    return {path: Probe(app, path, headers=cookie) for path in SHAPE_PATHS}
