"""The session middleware: one registry per connection in, Set-Cookie headers out.

It decodes nothing: sessions are read lazily by whoever asks (a guard, a dependency, a
handler), so a route that never touches a session pays only for this wrapper. Cookies are
written from the sessions' final state when the response starts, which also covers responses
built from exceptions raised by handlers, dependencies and guards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware

from litestar_jwtsession.session.api import SCOPE_KEY
from litestar_jwtsession.session.state import RequestSessions

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ("JWTSessionMiddleware",)


class JWTSessionMiddleware(ASGIMiddleware):
    """Installs the per-request session registry and writes session cookies."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, setup: Any = None, exclude_opt_key: str | None = None) -> None:
        self.setup = setup
        self.exclude_opt_key = exclude_opt_key

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        is_http = scope["type"] == ScopeType.HTTP
        registry = RequestSessions(scope["headers"], writable=is_http, setup=self.setup)
        cast("dict[str, Any]", scope)[SCOPE_KEY] = registry
        if not is_http:
            await next_app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookies = registry.set_cookie_headers()
                if cookies:
                    message["headers"] = [
                        *message.get("headers", ()),
                        *((b"set-cookie", cookie.encode("latin-1")) for cookie in cookies),
                    ]
            await send(message)

        await next_app(scope, receive, send_with_cookies)
