"""Session cookies on the way out: a Litestar ``before_send`` hook.

Nothing is decoded on the way in: the first session access of a request creates its context
(:func:`~litestar_jwtsession.integration.context.request_context`), so a route that never
touches a session pays only for this hook. Cookies are rendered from the sessions' final state
when the response starts, which also covers responses built from exceptions raised by handlers,
dependencies, guards and middleware.

A hook rather than a middleware: Litestar wraps the middleware stack of every route in a second
exception handler, so even a pass-through middleware costs more per request than this hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar_jwtsession.integration.context import SCOPE_KEY, mark_response_started

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.types import HTTPResponseStartEvent, Message, Scope

    from litestar_jwtsession.integration.runtime import SessionRuntime
    from litestar_jwtsession.session.context import RequestContext

__all__ = ("session_send_hook",)


def session_send_hook(runtime: SessionRuntime) -> Callable[[Message, Scope], Awaitable[None]]:
    """The hook that adds the Set-Cookie headers of a request's sessions to its response, then
    finishes the request's context. (A closure rather than an object with ``__call__``: Litestar
    awaits it for every message of every response.)"""
    device = None if runtime.store is None else runtime.store.device_cookie  # the rotation's client key

    async def add_session_cookies(message: Message, scope: Scope) -> None:
        kind = message["type"]
        state: dict[str, Any] = scope  # type: ignore[assignment]  # our key is not in the Scope TypedDict
        if kind == "http.response.start":
            context: RequestContext | None = state.get(SCOPE_KEY)
            if context is None:
                mark_response_started(scope)  # a later session access is read-only
                return
            cookies = context.set_cookie_headers()
            if cookies and device is not None:
                cookies += device.set_cookie_headers(context.sessions, context.cookies)
            if cookies:
                start = cast("HTTPResponseStartEvent", message)
                start["headers"] = [
                    *start.get("headers", ()),
                    *((b"set-cookie", cookie.encode("latin-1")) for cookie in cookies),
                ]
        elif (kind == "http.response.body" and not message.get("more_body")) or kind == "websocket.close":
            context = state.get(SCOPE_KEY)
            if context is not None:
                context.finish()

    return add_session_cookies
