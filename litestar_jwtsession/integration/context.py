"""Where a request's :class:`~litestar_jwtsession.session.context.RequestContext` lives in
Litestar: the one owner of the ASGI scope slot, the route ``opt`` marker and the app-state fallback.

The plugin marks every route it serves with its runtime (one dict lookup per request) and keeps
it in the app's state for requests that matched no route (an app-level 404 handler). The first
session access of a request creates the context from that runtime and keeps it in the scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.session.context import RequestContext

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Scope

    from litestar_jwtsession.session.policy import SessionPolicy

__all__ = (
    "SCOPE_KEY",
    "mark_response_started",
    "hold_session_cookies",
    "mark_route",
    "request_context",
    "route_context",
)

SCOPE_KEY = "litestar_jwtsession"
"""The key of the plugin's runtime in route ``opt`` and app state, and of the request's
:class:`RequestContext` in the ASGI scope."""


_STARTED_KEY = "litestar_jwtsession.response_started"
"""Scope key set when a response starts before any session access: a context created later (a
background task) is then read-only."""


def mark_response_started(scope: Scope) -> None:
    """Record that the response of a request without a context has started."""
    scope[_STARTED_KEY] = True  # type: ignore[literal-required]


def mark_route(handler: BaseRouteHandler, runtime: SessionPolicy, exclude_opt_key: str) -> None:
    """Install sessions on ``handler``, or mark it as opted out when its ``opt`` has
    ``exclude_opt_key`` (then not even the app-state fallback installs them)."""
    handler.opt[SCOPE_KEY] = None if handler.opt.get(exclude_opt_key) else runtime


def request_context(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    """The request's context, created on its first session access; ``ERR_SESSION_NOT_INSTALLED``
    where no plugin installed sessions."""
    scope: dict[str, Any] = connection.scope  # type: ignore[assignment]  # our key is not in Scope
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        runtime = _installed(connection)
        if runtime is None:
            raise SessionError(
                ErrorCode.SESSION_NOT_INSTALLED,
                "sessions are not installed on this route: register JWTSessionPlugin on the Litestar "
                "app (and do not exclude this route from it)",
            )
        context = scope[SCOPE_KEY] = _new_context(runtime, connection, scope)
    elif context.connection is None:
        context.resume(connection)  # after the response: a background task of the request
    return context


def route_context(
    connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
) -> RequestContext:
    """:func:`request_context` for a guard of ``route_handler``: on the first session access the
    context is created from the route's marker, the one lookup a guarded request needs."""
    scope: dict[str, Any] = connection.scope  # type: ignore[assignment]  # our key is not in Scope
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        runtime: SessionPolicy | None = route_handler.opt.get(SCOPE_KEY)
        if runtime is None:
            return request_context(connection)  # the app-state fallback, or not installed
        context = scope[SCOPE_KEY] = _new_context(runtime, connection, scope)
    return context


def _new_context(
    runtime: SessionPolicy, connection: ASGIConnection[Any, Any, Any, Any], scope: dict[str, Any]
) -> RequestContext:
    http = scope["type"] == "http"
    context = RequestContext(runtime, scope["headers"], connection, scope["method"] if http else None, http)
    if _STARTED_KEY in scope:  # a background task, after a response that read no session
        context.response_started = True
    return context


def hold_session_cookies(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Write no session cookie in this request's response, whatever the sessions did (e.g. a 503
    for an unavailable store must not change what the client holds)."""
    context: RequestContext | None = cast("dict[str, Any]", connection.scope).get(SCOPE_KEY)
    if context is not None:
        context.hold_cookies = True


def _installed(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionPolicy | None:
    """The plugin's runtime: on the route (one lookup; ``None`` there: opted out), else in the
    app's state (where no route matched, e.g. an app-level 404 handler)."""
    handler = connection.scope.get("route_handler")
    if handler is not None and SCOPE_KEY in handler.opt:
        return cast("SessionPolicy | None", handler.opt[SCOPE_KEY])
    try:
        return cast("SessionPolicy | None", connection.app.state.get(SCOPE_KEY))
    except (KeyError, AttributeError):  # a bare ASGI scope, without a Litestar app
        return None
