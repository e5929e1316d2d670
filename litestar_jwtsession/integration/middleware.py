"""The session middleware: one registry per connection in, Set-Cookie headers out.

It decodes nothing: sessions are read lazily by whoever asks (a guard, a dependency, a
handler), so a route that never touches a session pays only for this wrapper. Cookies are
written from the sessions' final state when the response starts, which also covers responses
built from exceptions raised by handlers, dependencies and guards.

It is a plain ASGI middleware rather than an ``ASGIMiddleware`` subclass: it runs on every
request, and the generic exclusion machinery would cost more than everything it does itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar.enums import ScopeType

from litestar_jwtsession.session.api import SCOPE_KEY
from litestar_jwtsession.session.state import RequestSessions, SessionInstall

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("JWTSessionMiddleware",)

_SESSION_SCOPES = frozenset({ScopeType.HTTP.value, ScopeType.WEBSOCKET.value})


class JWTSessionMiddleware:
    """Installs the per-request session registry and writes session cookies.

    Args:
        app: the next ASGI app.
        setup: what the registry hands to guards and hooks (the plugin).
        exclude_opt_key: a route ``opt`` key that skips this middleware for that route.
    """

    __slots__ = ("_install", "_started", "app", "exclude_opt_key")

    def __init__(self, app: ASGIApp, setup: Any = None, exclude_opt_key: str | None = None) -> None:
        self.app = app
        self.exclude_opt_key = exclude_opt_key
        # shared, immutable markers: the registry itself is only built if a session is touched
        self._install = SessionInstall(setup)
        self._started = SessionInstall(setup, response_started=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in _SESSION_SCOPES or (
            self.exclude_opt_key and scope["route_handler"].opt.get(self.exclude_opt_key)
        ):
            await self.app(scope, receive, send)
            return
        state = cast("dict[str, Any]", scope)
        state[SCOPE_KEY] = self._install
        try:
            if kind == ScopeType.HTTP:
                await self.app(scope, receive, self._send_with_cookies(state, send))
            else:  # WebSockets read sessions but never write cookies
                await self.app(scope, receive, send)
        finally:
            registry = state.pop(SCOPE_KEY, None)
            if type(registry) is RequestSessions:
                # the registry, its sessions and the connection refer to each other: unlink them
                # now so plain reference counting frees the request, not the cyclic collector
                registry.release()

    def _send_with_cookies(self, state: dict[str, Any], send: Send) -> Send:
        started = self._started

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                registry = state[SCOPE_KEY]
                if type(registry) is RequestSessions:
                    registry.response_started = True  # later writes cannot reach the client
                    cookies = registry.set_cookie_headers() if registry.sessions else None
                    if cookies:
                        message["headers"] = [
                            *message.get("headers", ()),
                            *((b"set-cookie", cookie.encode("latin-1")) for cookie in cookies),
                        ]
                else:
                    state[SCOPE_KEY] = started
            await send(message)

        return send_with_cookies
