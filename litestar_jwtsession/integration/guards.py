"""Route guards on a session: ``requires_session`` and ``requires_scopes``.

A guard asks the request context for its session's claims: first the fast read (a cookie the
verified-token cache vouches for), else the session's full read, which may re-issue the access
session from the refresh session; a session built later by a handler starts from what the guard
read, and a refresh performed for the guard sets its cookie on the same response.
"""

from __future__ import annotations

import inspect
from types import CodeType
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.routes.http import HTTPRoute

from litestar_jwtsession.integration.context import route_context
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.session.config import SessionConfig

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from litestar_jwtsession.integration.runtime import SessionRuntime
    from litestar_jwtsession.session.context import RequestContext

__all__ = ("SKIP_GUARD_OPT_KEY", "SessionGuard", "requires_scopes", "requires_session", "session_scopes")

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


def _is_automatic_options(route_handler: BaseRouteHandler) -> bool:
    code = getattr(route_handler.fn, "__code__", None)
    return code is not None and code is _AUTOMATIC_OPTIONS_CODE


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
    """A Litestar guard: 401 without a valid session, 403 without the required scopes.

    Instances carry ``session``, ``scopes`` and ``any_of`` so the plugin can document them in OpenAPI.
    """

    __slots__ = ("_resolved", "any_of", "scopes", "session")

    def __init__(self, session: SessionRef, scopes: tuple[str, ...], any_of: bool) -> None:
        self.session = session
        self.scopes = frozenset(scopes)
        self.any_of = any_of
        self._resolved: tuple[SessionRuntime, SessionConfig[Any]] | None = None

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
    ) -> None:
        if route_handler.opt.get(SKIP_GUARD_OPT_KEY) or (
            connection.scope.get("method") == "OPTIONS" and _is_automatic_options(route_handler)
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
            claims = await self._read(context, config)
        if self.scopes and self._lacks_scopes(claims):
            wanted = " ".join(sorted(self.scopes))
            raise PermissionDeniedException(
                detail="Insufficient scope",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{wanted}"'},
            )
        # expose the admitted session the Litestar way: ``request.auth`` and ``request.user``
        scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
        scope["auth"] = claims
        retrieve_user = runtime.retrieve_user_handler
        scope["user"] = (
            claims if retrieve_user is None else await _retrieve_user(retrieve_user, connection, claims)
        )

    def _resolve(self, runtime: SessionRuntime) -> SessionConfig[Any]:
        config = runtime.config_for(self.session)
        self._resolved = (runtime, config)
        return config

    @staticmethod
    async def _read(context: RequestContext, config: SessionConfig[Any]) -> Any:
        """The full read: the claims of a valid session, else 401."""
        session = await context.session(config).load()
        if not session.is_valid:
            raise NotAuthorizedException(
                detail="A valid session is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return session.claims

    def _lacks_scopes(self, claims: Any) -> bool:
        granted = _scope_claim(claims)
        try:
            return self.scopes.isdisjoint(granted) if self.any_of else not self.scopes.issubset(granted)
        except TypeError:  # unhashable members (e.g. a nested list): keep the strings only
            strings = session_scopes(claims)
            return self.scopes.isdisjoint(strings) if self.any_of else not self.scopes.issubset(strings)

    def __repr__(self) -> str:
        return f"SessionGuard(session={self.session!r}, scopes={sorted(self.scopes)}, any_of={self.any_of})"


async def _retrieve_user(
    retrieve_user: Callable[[Any, ASGIConnection[Any, Any, Any, Any]], Awaitable[Any] | Any],
    connection: ASGIConnection[Any, Any, Any, Any],
    claims: Any,
) -> Any:
    user = retrieve_user(claims, connection)
    if inspect.isawaitable(user):  # sync and async handlers alike, as Litestar's auth backends
        user = await user
    if user is None:
        raise NotAuthorizedException(detail="Unknown user", headers={"WWW-Authenticate": "Bearer"})
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
