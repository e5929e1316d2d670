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

    from litestar_jwtsession.integration.runtime import SessionRuntime

__all__ = (
    "SCOPE_KEY",
    "mark_response_started",
    "hold_session_cookies",
    "mark_route",
    "request_context",
    "route_runtime",
    "started_context",
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


def mark_route(handler: BaseRouteHandler, runtime: SessionRuntime) -> None:
    """Install sessions on ``handler`` unless its ``opt`` opts it out."""
    if not handler.opt.get(runtime.exclude_opt_key):
        handler.opt[SCOPE_KEY] = runtime


def route_runtime(handler: BaseRouteHandler) -> SessionRuntime | None:
    """The runtime that marked ``handler``, if any (the guards' way in: one dict lookup)."""
    return cast("SessionRuntime | None", handler.opt.get(SCOPE_KEY))


def request_context(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    """The request's context, created on its first session access; ``ERR_SESSION_NOT_INSTALLED``
    where no plugin installed sessions."""
    scope = cast("dict[str, Any]", connection.scope)
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        runtime = _installed(connection)
        if runtime is None:
            raise SessionError(
                ErrorCode.SESSION_NOT_INSTALLED,
                "sessions are not installed on this route: register JWTSessionPlugin on the Litestar "
                "app (and do not exclude this route from it)",
            )
        context = scope[SCOPE_KEY] = _new_context(runtime, connection)
    return context


def started_context(
    connection: ASGIConnection[Any, Any, Any, Any], runtime: SessionRuntime
) -> RequestContext:
    """The context of ``connection`` for a guard of ``runtime``'s routes (no lookup of the runtime)."""
    scope = cast("dict[str, Any]", connection.scope)
    context: RequestContext | None = scope.get(SCOPE_KEY)
    if context is None:
        context = scope[SCOPE_KEY] = _new_context(runtime, connection)
    return context


def _new_context(runtime: SessionRuntime, connection: ASGIConnection[Any, Any, Any, Any]) -> RequestContext:
    scope = cast("dict[str, Any]", connection.scope)
    http = scope["type"] == "http"
    context = RequestContext(
        runtime,
        scope["headers"],
        connection=connection,
        method=scope.get("method") if http else None,
        writable=http,
    )
    if _STARTED_KEY in scope:
        context.response_started = True
    return context


def hold_session_cookies(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Write no session cookie in this request's response, whatever the sessions did (e.g. a 503
    for an unavailable store must not change what the client holds)."""
    context: RequestContext | None = cast("dict[str, Any]", connection.scope).get(SCOPE_KEY)
    if context is not None:
        context.hold_cookies = True


def _installed(connection: ASGIConnection[Any, Any, Any, Any]) -> SessionRuntime | None:
    """The plugin's runtime: on the route (one lookup), else in the app's state (where no route
    matched, e.g. an app-level 404 handler), unless the route opted out."""
    handler = connection.scope.get("route_handler")
    opt = {} if handler is None else handler.opt
    runtime: SessionRuntime | None = opt.get(SCOPE_KEY)
    if runtime is not None:
        return runtime
    try:
        runtime = connection.app.state.get(SCOPE_KEY)
    except (KeyError, AttributeError):  # a bare ASGI scope, without a Litestar app
        return None
    if runtime is not None and opt.get(runtime.exclude_opt_key):
        return None
    return runtime
