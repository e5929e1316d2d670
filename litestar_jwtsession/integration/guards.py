"""Route guards on a session: ``requires_session``, ``requires_scopes`` and ``requires_fresh_login``.

A guard asks the request context for its session's claims: first the fast read (a cookie the
verified-token cache vouches for), else the session's full read, which may re-issue the access
session from the refresh session; a session built later by a handler starts from what the guard
read, and a refresh performed for the guard sets its cookie on the same response.
"""

from __future__ import annotations

import inspect
from types import CodeType
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import (
    HTTPException,
    LitestarException,
    NotAuthorizedException,
    PermissionDeniedException,
    WebSocketException,
)
from litestar.routes.http import HTTPRoute

from litestar_jwtsession.integration.context import route_context
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.jose.durations import Duration, parse_duration
from litestar_jwtsession.session.claims import AUTH_TIME_CLAIM, auth_time_of
from litestar_jwtsession.session.config import SessionConfig

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from litestar_jwtsession.integration.runtime import SessionRuntime
    from litestar_jwtsession.session.context import RequestContext

__all__ = (
    "SKIP_GUARD_OPT_KEY",
    "SessionGuard",
    "requires_fresh_login",
    "requires_scopes",
    "requires_session",
    "session_guards",
    "session_scopes",
)

SKIP_GUARD_OPT_KEY = "skip_session_guard"
"""Route ``opt`` key that lets a route opt out of every session guard of its layers."""

SessionRef = str | SessionConfig[Any] | None

# Litestar adds an OPTIONS handler to every HTTP route without one of its own (answering 204 with
# ``Allow``); it is the only OPTIONS handler guards let through, recognised by its code object.
# Should Litestar move it, this is None and every OPTIONS request is guarded (fail closed).
_AUTOMATIC_OPTIONS_CODE = next(
    (
        const
        for const in HTTPRoute.create_options_handler.__code__.co_consts
        if isinstance(const, CodeType) and const.co_name == "options_handler"
    ),
    None,
)


def is_automatic_options(route_handler: BaseRouteHandler) -> bool:
    """Whether ``route_handler`` is the ``OPTIONS`` handler Litestar adds to a route."""
    code = getattr(route_handler.fn, "__code__", None)
    return code is not None and code is _AUTOMATIC_OPTIONS_CODE


def session_guards(route_handler: BaseRouteHandler) -> list[SessionGuard]:
    """The session guards of ``route_handler``, from every layer."""
    return [guard for guard in route_handler.resolve_guards() if isinstance(guard, SessionGuard)]


_SCOPE_COLLECTIONS = (list, tuple, set, frozenset)


def _scope_claim(claims: Any) -> list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]:
    value = claims.get("scope") if type(claims) is dict else getattr(claims, "scope", None)
    if type(value) is list or isinstance(value, _SCOPE_COLLECTIONS):  # a list: what JSON gives
        return value  # non-string members never equal a required scope
    if isinstance(value, str):
        # RFC 6749 §3.3: scopes are delimited by the ASCII space only; str.split() would also
        # split on tabs, line breaks and Unicode spaces ("read\u00a0admin" would grant "admin")
        return [item for item in value.split(" ") if item]
    return ()


def session_scopes(claims: Any) -> frozenset[str]:
    """The ``scope`` claim as a set: a list of strings or one string delimited by ASCII spaces."""
    return frozenset(item for item in _scope_claim(claims) if isinstance(item, str))


class SessionGuard:
    """A Litestar guard: 401 without a valid session, 403 without the required scopes, and, with
    ``max_age``, 401 with RFC 9470's challenge when the session's login is older than that.

    Instances carry ``session``, ``scopes``, ``any_of`` and ``max_age`` so the plugin can document
    them in OpenAPI.
    """

    __slots__ = ("_resolved", "any_of", "max_age", "scopes", "session")

    def __init__(
        self, session: SessionRef, scopes: tuple[str, ...], any_of: bool, max_age: int | None = None
    ) -> None:
        self.session = session
        self.scopes = frozenset(scopes)
        self.any_of = any_of
        self.max_age = max_age
        """Seconds since the login (``auth_time``) within which a session is admitted; ``None``: any."""
        self._resolved: tuple[SessionRuntime, SessionConfig[Any]] | None = None

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
    ) -> None:
        if route_handler.opt.get(SKIP_GUARD_OPT_KEY) or (
            connection.scope.get("method") == "OPTIONS" and is_automatic_options(route_handler)
        ):
            # opted out; or Litestar's own OPTIONS answer, which serves no data (a browser's CORS
            # preflight, which carries no credentials, is answered by the CORS middleware first)
            return
        context = route_context(connection, route_handler)
        runtime: SessionRuntime = context.policy  # type: ignore[assignment]  # what the plugin put there
        resolved = self._resolved  # (runtime, its config): a guard object may serve several apps
        config = resolved[1] if resolved is not None and resolved[0] is runtime else self._resolve(runtime)
        claims = context.cached_claims(config)  # the fast read: a cookie the token cache vouches for
        if claims is None:
            claims = await self._read(connection, context, config)
        if self.scopes and self._lacks_scopes(claims):
            wanted = " ".join(sorted(self.scopes))
            raise _refusal(
                connection,
                PermissionDeniedException,
                "Insufficient scope",
                f'Bearer error="insufficient_scope", scope="{wanted}"',
            )
        if self.max_age is not None and _stale(claims, config, self.max_age):
            raise _login_required(connection, self.max_age)
        # expose the admitted session the Litestar way: ``request.auth`` and ``request.user``
        scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
        scope["auth"] = claims
        retrieve_user = runtime.retrieve_user_handler
        scope["user"] = (
            claims if retrieve_user is None else await _retrieve_user(retrieve_user, connection, claims)
        )

    def check(self, runtime: SessionRuntime) -> None:
        """Resolve this guard's session on ``runtime`` (the plugin does it for every guarded route
        as the app is built): a guard naming no registered session, or a fresh-login guard on
        claims without ``auth_time``, raises :class:`ImproperlyConfigured` then, not on a request."""
        self._resolve(runtime)

    def _resolve(self, runtime: SessionRuntime) -> SessionConfig[Any]:
        config = runtime.config_for(self.session)
        if self.max_age is not None and not _carries_auth_time(config.claims):
            raise ImproperlyConfigured(
                f"requires_fresh_login: the claims type of session {config.name!r} has no "
                f"{AUTH_TIME_CLAIM!r} field (derive it from SessionClaims)"
            )
        self._resolved = (runtime, config)
        return config

    @staticmethod
    async def _read(
        connection: ASGIConnection[Any, Any, Any, Any], context: RequestContext, config: SessionConfig[Any]
    ) -> Any:
        """The full read: the claims of a valid session, else 401."""
        session = await context.session(config).load()
        if not session.is_valid:
            raise _refusal(connection, NotAuthorizedException, "A valid session is required", "Bearer")
        return session.claims

    def _lacks_scopes(self, claims: Any) -> bool:
        granted = _scope_claim(claims)
        try:
            return self.scopes.isdisjoint(granted) if self.any_of else not self.scopes.issubset(granted)
        except TypeError:  # unhashable members (e.g. a nested list): keep the strings only
            strings = session_scopes(claims)
            return self.scopes.isdisjoint(strings) if self.any_of else not self.scopes.issubset(strings)

    def __repr__(self) -> str:
        fresh = "" if self.max_age is None else f", max_age={self.max_age}"
        scopes = sorted(self.scopes)
        return f"SessionGuard(session={self.session!r}, scopes={scopes}, any_of={self.any_of}{fresh})"


def _refusal(
    connection: ASGIConnection[Any, Any, Any, Any],
    exception: type[HTTPException],
    detail: str,
    challenge: str,
) -> LitestarException:
    """The refusal a guard raises: ``exception`` with its ``WWW-Authenticate`` challenge, or, on a
    WebSocket handshake (which has no headers to answer with), a close with code 4000 + its
    status (4401, 4403) and ``detail`` as the reason, where Litestar would close with 4500."""
    if connection.scope["type"] == ScopeType.WEBSOCKET:
        return WebSocketException(detail=detail, code=4000 + exception.status_code)
    return exception(detail=detail, headers={"WWW-Authenticate": challenge})


def _stale(claims: Any, config: SessionConfig[Any], max_age: int) -> bool:
    """Whether the login behind ``claims`` is older than ``max_age`` seconds on ``config``'s clock
    (no ``auth_time`` is no login; one later than the clock allows, beyond ``leeway``, is refused)."""
    auth_time = auth_time_of(claims)
    if auth_time is None:
        return True
    now = config.clock()
    return not now - max_age <= auth_time <= now + config.leeway


def _login_required(connection: ASGIConnection[Any, Any, Any, Any], max_age: int) -> LitestarException:
    # RFC 9470 §3: the error code and max_age tell the client to log the user in again
    return _refusal(
        connection,
        NotAuthorizedException,
        f"A login within the last {max_age} seconds is required",
        'Bearer error="insufficient_user_authentication", '
        'error_description="A more recent authentication is required", '
        f'max_age="{max_age}"',
    )


def _carries_auth_time(claims_type: type[Any] | None) -> bool:
    """Whether claims converted to ``claims_type`` keep ``auth_time`` (a plain dict does)."""
    if claims_type is None:
        return True
    fields = getattr(msgspec.inspect.type_info(claims_type), "fields", None)
    return fields is None or any(
        field.name == AUTH_TIME_CLAIM and field.encode_name == AUTH_TIME_CLAIM for field in fields
    )


async def _retrieve_user(
    retrieve_user: Callable[[Any, ASGIConnection[Any, Any, Any, Any]], Awaitable[Any] | Any],
    connection: ASGIConnection[Any, Any, Any, Any],
    claims: Any,
) -> Any:
    user = retrieve_user(claims, connection)
    if inspect.isawaitable(user):  # sync and async handlers alike, as Litestar's auth backends
        user = await user
    if user is None:
        raise _refusal(connection, NotAuthorizedException, "Unknown user", "Bearer")
    return user


def requires_session(session: SessionRef = None) -> SessionGuard:
    """Guard: the request must carry a valid session (default: the plugin's access session)."""
    return SessionGuard(session, (), False)


def requires_scopes(*scopes: str, any_of: bool = False, session: SessionRef = None) -> SessionGuard:
    """Guard: the session's ``scope`` claim must hold every scope (or, with ``any_of``, one of them)."""
    if not scopes:
        raise ImproperlyConfigured("requires_scopes needs at least one scope")
    if any(not isinstance(scope, str) or not scope or " " in scope for scope in scopes):
        raise ImproperlyConfigured("scopes must be non-empty strings without spaces")
    return SessionGuard(session, scopes, any_of)


def requires_fresh_login(max_age: Duration, *, session: SessionRef = None) -> SessionGuard:
    """Guard: the session's login (its ``auth_time`` claim, stamped by
    ``session.update(..., login=True)``) must be at most ``max_age`` old (seconds, a ``timedelta``
    or a duration such as ``"5m"``), on the session config's clock.

    A session without ``auth_time``, or whose login is older, is refused with 401 and
    ``WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="...",
    max_age="<seconds>"`` (RFC 9470): the client should have the user log in again. A session
    re-issued by the refresh fallback keeps the login time of its refresh session, so it is not
    fresh. No valid session at all: 401 with ``Bearer``, as :func:`requires_session`.
    """
    try:
        seconds = parse_duration(max_age)
    except TypeError as exc:
        raise ImproperlyConfigured(f"requires_fresh_login: max_age: {exc}") from exc
    return SessionGuard(session, (), False, seconds)
