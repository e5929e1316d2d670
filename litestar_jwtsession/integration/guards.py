"""Route guards on the access session, and the refresh fallback that runs before they decide.

Guards read the session through the same per-request state as handlers, so a session read by a
guard is not decoded again by the handler, and a refresh performed for the guard sets its cookie
on the same response.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping  # noqa: TC003
from types import CodeType
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.routes.http import HTTPRoute

from litestar_jwtsession.errors import SessionError
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.stores import BOOKKEEPING_CLAIMS
from litestar_jwtsession.session.admission import Admission, SessionInstall, admit_cached
from litestar_jwtsession.session.api import SCOPE_KEY, request_sessions
from litestar_jwtsession.session.config import SessionConfig
from litestar_jwtsession.session.hooks import HookEvent
from litestar_jwtsession.session.state import REQUEST_REFUSALS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from litestar_jwtsession.session.state import Session

__all__ = ("SessionGuard", "requires_scopes", "requires_session", "reissue_from_refresh", "session_scopes")

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


def _scope_claim(claims: Any) -> list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]:
    value = claims.get("scope") if type(claims) is dict else getattr(claims, "scope", None)
    if isinstance(value, str):
        # RFC 6749 §3.3: scopes are delimited by the ASCII space only; str.split() would also
        # split on tabs, line breaks and Unicode spaces ("read\u00a0admin" would grant "admin")
        return [item for item in value.split(" ") if item]
    if isinstance(value, list | tuple | set | frozenset):
        return value  # non-string members never equal a required scope
    return ()


def session_scopes(claims: Any) -> frozenset[str]:
    """The ``scope`` claim as a set: a list of strings or one string delimited by ASCII spaces."""
    return frozenset(item for item in _scope_claim(claims) if isinstance(item, str))


def resolve_session_config(setup: Any, session: SessionRef) -> SessionConfig[Any]:
    """The config a guard's ``session`` names, among those ``setup`` (the plugin) registered."""
    if isinstance(session, SessionConfig):
        return session
    if session is None:
        config = getattr(setup, "access", None)
        if config is None:
            raise ImproperlyConfigured("session guards need JWTSessionPlugin(access=...) or session=")
        return config  # type: ignore[no-any-return]
    by_name: Mapping[str, SessionConfig[Any]] = getattr(setup, "by_name", {})
    try:
        return by_name[session]
    except KeyError:
        raise ImproperlyConfigured(f"no session named {session!r} is registered") from None


class SessionGuard:
    """A Litestar guard: 401 without a valid session, 403 without the required scopes.

    Instances carry ``session``, ``scopes`` and ``any_of`` so the plugin can document them in OpenAPI.
    """

    __slots__ = ("_resolved", "any_of", "scopes", "session")

    def __init__(self, session: SessionRef, scopes: tuple[str, ...], any_of: bool) -> None:
        self.session = session
        self.scopes = frozenset(scopes)
        self.any_of = any_of
        self._resolved: tuple[Any, SessionConfig[Any]] | None = None  # (setup, its config)

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
    ) -> None:
        scope: Any = connection.scope  # a dict: our key is not in its TypedDict
        opt = route_handler.opt
        if opt.get(SKIP_GUARD_OPT_KEY) or (
            scope.get("method") == "OPTIONS" and _is_automatic_options(route_handler)
        ):
            # opted out; or Litestar's own OPTIONS answer, which serves no data (a browser's CORS
            # preflight, which carries no credentials, is answered by the CORS middleware first)
            return
        state = scope.get(SCOPE_KEY)
        if state is None:  # the request's first session access: try the cached read
            admitted = None
            install = opt.get(SCOPE_KEY)  # the plugin marks every route it serves
            if type(install) is SessionInstall:
                admitted = admit_cached(install, self._config(install.setup), scope)
                if admitted is not None:
                    scope[SCOPE_KEY] = admitted  # a session built later takes it over
        else:
            admitted = self._admitted(state)
        if admitted is not None:
            setup, claims = admitted.install.setup, admitted.typed
        else:
            setup, claims = await self._read(connection)
        scopes = self.scopes
        if scopes:
            granted = claims.get("scope") if type(claims) is dict else None
            if type(granted) is not list:  # a list is what JSON gives; anything else is normalised
                granted = _scope_claim(claims)
            try:
                refused = scopes.isdisjoint(granted) if self.any_of else not scopes.issubset(granted)
            except TypeError:  # unhashable members (e.g. a nested list): keep the strings only
                granted = session_scopes(claims)
                refused = scopes.isdisjoint(granted) if self.any_of else not scopes.issubset(granted)
            if refused:
                wanted = " ".join(sorted(self.scopes))
                raise PermissionDeniedException(
                    detail="Insufficient scope",
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{wanted}"'},
                )
        # expose the admitted session the Litestar way: ``request.auth`` and ``request.user``
        scope["auth"] = claims
        retrieve_user = getattr(setup, "retrieve_user_handler", None)
        scope["user"] = (
            claims if retrieve_user is None else await _retrieve_user(retrieve_user, connection, claims)
        )

    def _config(self, setup: Any) -> SessionConfig[Any]:
        resolved = self._resolved  # (plugin, its config): a guard object may serve several apps
        if resolved is None or resolved[0] is not setup:
            resolved = self._resolved = (setup, resolve_session_config(setup, self.session))
        return resolved[1]

    def _admitted(self, state: Any) -> Admission | None:
        """Another guard's admission, if it is of this guard's session (sessions go by name)."""
        if type(state) is Admission and state.config.name == self._config(state.install.setup).name:
            return state
        return None

    async def _read(self, connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[Any, Any]:
        """The full read: ``(setup, claims)`` of a valid session, else 401."""
        registry = request_sessions(connection)
        session = await registry.session(self._config(registry.setup)).load()
        if session.id is None or session.token is None:  # not ``is_valid``: this runs per request
            raise NotAuthorizedException(
                detail="A valid session is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return registry.setup, session.claims

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


def _access_data(data: Mapping[str, Any] | msgspec.Struct) -> dict[str, Any]:
    """A copy of ``data`` for the access session, without the refresh session's bookkeeping
    claims: the access token is readable by the client, and they are none of its business."""
    mapping = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    return {key: copy.deepcopy(value) for key, value in mapping.items() if key not in BOOKKEEPING_CLAIMS}


async def reissue_from_refresh(event: HookEvent) -> None:
    """The built-in ``on_missing`` hook of the access config: re-issue it from the refresh session.

    ``on_refresh`` hooks on the access config may veto (``False``) or supply the new data (a mapping
    or a ``msgspec.Struct``).
    A refresh session that is present but unusable is cleared so the browser drops it.

    With refresh-token rotation on (``JWTSessionPlugin(store=...)``), the refresh session is first
    rotated: re-issued with a new ``jti`` in the same family, or, when a concurrent request of the
    same client already rotated this token within the grace window, set to that request's
    successor, so racing responses carry identical refresh cookies. The default access data is
    then the rotated refresh session's data, without the library's bookkeeping claims (``fam``),
    which never reach the client-readable access token; it carries the family's opaque handle
    (``fid``) instead, so a detected reuse revokes it with the family. If the token may not be rotated
    (reuse: see ``SessionHooks.on_reuse``) the refresh session is cleared and the access session
    stays anonymous.
    """
    access: Session[Any] = event.session
    if access.is_valid:
        return  # another hook already re-issued it
    registry = request_sessions(event.connection)
    refresh_config = getattr(registry.setup, "refresh", None)
    if refresh_config is None:
        return
    refresh = await registry.session(refresh_config).load()
    if not refresh.is_valid:
        if refresh.token is not None and refresh.refusal not in REQUEST_REFUSALS:
            await refresh.clear()  # a bad or lapsed refresh cookie: let the browser drop it
        return
    decision = await access.config.hooks.first(
        "on_refresh",
        HookEvent(
            connection=event.connection, config=access.config, session=access, old_session=refresh.snapshot()
        ),
    )
    if decision is False:
        return
    rotation = getattr(registry.setup, "refresh_rotation", None)
    if rotation is not None and not await rotation.rotate(event.connection, refresh):
        return
    data = _access_data(refresh.data if decision is None else decision)
    if rotation is not None:
        data.update(rotation.access_claims(refresh))
    try:
        await access.update(data, replace=True)
    except SessionError:
        # ``update`` rolled back and fired ``on_error``; the access session stays anonymous (401)
        return
