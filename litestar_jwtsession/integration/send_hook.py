"""Session cookies on the way out: a Litestar ``before_send`` hook.

Nothing is decoded on the way in: the first session access of a request builds its registry
(:func:`~litestar_jwtsession.session.api.request_sessions`), so a route that never touches a
session pays only for this hook. Cookies are rendered from the sessions' final state when the
response starts, which also covers responses built from exceptions raised by handlers,
dependencies, guards and middleware.

A hook rather than a middleware: Litestar wraps the middleware stack of every route in a second
exception handler, so even a pass-through middleware costs more per request than this hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar_jwtsession.session.admission import SessionInstall
from litestar_jwtsession.session.api import SCOPE_KEY
from litestar_jwtsession.session.state import RequestSessions

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.types import HTTPResponseStartEvent, Message, Scope

__all__ = ("session_send_hook",)


def session_send_hook(install: SessionInstall) -> Callable[[Message, Scope], Awaitable[None]]:
    """The hook that adds the Set-Cookie headers of a request's sessions to its response, then
    unlinks them. ``install`` is what the plugin installed. (A closure rather than an object with
    ``__call__``: Litestar awaits it for every message of every response.)"""
    # what a session access after the response started finds: sessions there are read-only
    started = install._replace(response_started=True)
    store = getattr(install.setup, "session_store", None)
    device = None if store is None else store.device_cookie  # the rotation's client key, if a cookie

    async def add_session_cookies(message: Message, scope: Scope) -> None:
        kind = message["type"]
        state: dict[str, Any] = scope  # type: ignore[assignment]  # (no cast call: this runs twice a request)
        if kind == "http.response.start":
            registry = state.get(SCOPE_KEY)
            if type(registry) is not RequestSessions:
                state[SCOPE_KEY] = started
                return
            registry.response_started = True  # later writes cannot reach the client
            cookies = registry.set_cookie_headers() if registry.sessions else None
            if cookies and device is not None:
                cookies += device.set_cookie_headers(registry.sessions, registry.cookies)
            if cookies:
                start = cast("HTTPResponseStartEvent", message)
                start["headers"] = [
                    *start.get("headers", ()),
                    *((b"set-cookie", cookie.encode("latin-1")) for cookie in cookies),
                ]
        elif (kind == "http.response.body" and not message.get("more_body")) or kind == "websocket.close":
            registry = state.get(SCOPE_KEY)
            if type(registry) is RequestSessions:
                # The registry, its sessions and the connection refer to each other: unlink them
                # so plain reference counting frees the request, not the cyclic collector (which
                # would cost more than the whole session check). A later access (a background
                # task) starts afresh, read-only, from the tokens the response ended with.
                finished = (started.setup, True, started.exclude_opt_key, registry.sessions)
                state[SCOPE_KEY] = tuple.__new__(SessionInstall, finished)  # (tuple's faster constructor)
                registry.release()

    return add_session_cookies
