"""The functional API: unjwt's ``useJWESession`` & co. in snake_case.

``connection`` is any Litestar ``ASGIConnection`` (a ``Request`` or a ``WebSocket``); only its ASGI
scope is used. The per-request registry is kept there, built on the first session access.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar, cast

from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.session.admission import Admission, SessionInstall
from litestar_jwtsession.session.claims import SessionSnapshot, snapshot_of
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
from litestar_jwtsession.session.state import (
    RequestSessions,
    Session,
    SessionUpdate,
)

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

__all__ = (
    "SCOPE_KEY",
    "clear_jwe_session",
    "clear_jws_session",
    "get_jwe_session",
    "get_jwe_session_token",
    "get_jws_session",
    "get_jws_session_token",
    "hold_session_cookies",
    "request_sessions",
    "seal_jwe_session",
    "sign_jws_session",
    "unseal_jwe_session",
    "update_jwe_session",
    "update_jws_session",
    "use_jwe_session",
    "use_jws_session",
    "verify_jws_session",
)

SCOPE_KEY = "litestar_jwtsession"
"""ASGI scope key of the per-request :class:`RequestSessions` (before the first session access:
the plugin's :class:`SessionInstall` once the response started, or a guard's :class:`Admission`)."""

ClaimsT = TypeVar("ClaimsT")
ConfigT = TypeVar("ConfigT", bound=SessionConfig[Any])


def request_sessions(connection: ASGIConnection[Any, Any, Any, Any]) -> RequestSessions:
    """The per-request registry (created on first use), bound to ``connection`` for hook events."""
    scope = cast("dict[str, Any]", connection.scope)
    registry = scope.get(SCOPE_KEY)
    if type(registry) is RequestSessions:
        return registry
    admitted = registry if type(registry) is Admission else None  # a guard's cached read
    if admitted is not None:
        install = admitted.install
    else:
        install = registry if registry is not None else _installed(connection)
    if not isinstance(install, SessionInstall):
        raise SessionError(
            ErrorCode.SESSION_NOT_INSTALLED,
            "sessions are not installed on this route: register JWTSessionPlugin on the Litestar "
            "app (and do not exclude this route from it)",
        )
    created = RequestSessions(scope["headers"], writable=scope["type"] == "http", setup=install.setup)
    created.response_started = install.response_started
    created.finished = install.finished
    created.admitted = admitted
    created.connection = connection
    scope[SCOPE_KEY] = created
    return created


def hold_session_cookies(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Write no session cookie in this request's response, whatever the sessions did (e.g. a 503
    for an unavailable store must not change what the client holds)."""
    registry = connection.scope.get(SCOPE_KEY)
    if type(registry) is RequestSessions:
        registry.hold_cookies = True


def _installed(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    """The plugin's :class:`SessionInstall`: in the route's ``opt`` (one lookup), else in the app's
    state (where no route matched, e.g. an app-level 404 handler), unless the route opted out."""
    opt = getattr(connection.scope.get("route_handler"), "opt", None) or {}
    install = opt.get(SCOPE_KEY)
    if install is not None:
        return install
    try:
        install = connection.app.state.get(SCOPE_KEY)
    except (KeyError, AttributeError):  # a bare ASGI scope, without a Litestar app
        return None
    if isinstance(install, SessionInstall) and install.exclude_opt_key and opt.get(install.exclude_opt_key):
        return None
    return install


def _session(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT], kind: type[Any]
) -> Session[ClaimsT]:
    if not isinstance(config, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(config).__name__}")
    return request_sessions(connection).session(config)


async def _use(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT], kind: type[Any]
) -> Session[ClaimsT]:
    return await _session(connection, config, kind).load()


async def _update(
    connection: ASGIConnection[Any, Any, Any, Any],
    config: SessionConfig[ClaimsT],
    kind: type[Any],
    update: SessionUpdate | None,
    replace: bool,
) -> Session[ClaimsT]:
    # ``config`` may be a modified copy of the registered one (e.g. another clock); it shares the
    # session state by name but its own settings drive this write.
    return await _session(connection, config, kind)._update(update, replace=replace, config=config)


async def _clear(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT], kind: type[Any]
) -> Session[ClaimsT]:
    return await _session(connection, config, kind).clear()


def _token(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any]
) -> str | None:
    session = _session(connection, config, kind)
    if session.id is not None or session.token is not None or session._loaded:
        return session.token
    return session._find_token()[0]


async def _encode(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any]
) -> str:
    session = await _use(connection, config, kind)
    # unlike unjwt, never mint a token without ``jti``: its own reader would reject it
    return await config.encode_token_async(session.state_claims(session.id or str(uuid.uuid4())))


async def _decode(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any], token: str
) -> SessionSnapshot:
    session = _session(connection, config, kind)
    claims, _ = await session._decoded(token)  # typed claims must convert
    return snapshot_of(claims, token)


# -- JWS -------------------------------------------------------------------------------------------


async def use_jws_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWSSessionConfig[ClaimsT]
) -> Session[ClaimsT]:
    """The request's JWS session, read on first use (fires ``on_read``/``on_expire``/``on_error`` once)."""
    return await _use(connection, config, JWSSessionConfig)


get_jws_session = use_jws_session


async def update_jws_session(
    connection: ASGIConnection[Any, Any, Any, Any],
    config: JWSSessionConfig[ClaimsT],
    update: SessionUpdate | None = None,
    *,
    replace: bool = False,
) -> Session[ClaimsT]:
    """Update the JWS session (see :meth:`Session.update`)."""
    return await _update(connection, config, JWSSessionConfig, update, replace)


async def clear_jws_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWSSessionConfig[ClaimsT]
) -> Session[ClaimsT]:
    """Clear the JWS session (see :meth:`Session.clear`)."""
    return await _clear(connection, config, JWSSessionConfig)


def get_jws_session_token(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWSSessionConfig[Any]
) -> str | None:
    """The current token: the session's own once read or written, else the request's (header, cookie)."""
    return _token(connection, config, JWSSessionConfig)


async def sign_jws_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWSSessionConfig[Any]
) -> str:
    """Sign the current session state into a token; no cookie, no hook, no state change."""
    return await _encode(connection, config, JWSSessionConfig)


async def verify_jws_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWSSessionConfig[Any], token: str
) -> SessionSnapshot:
    """Verify ``token`` against ``config``; raises :class:`SessionError`, fires no lifecycle hook."""
    return await _decode(connection, config, JWSSessionConfig, token)


# -- JWE -------------------------------------------------------------------------------------------


async def use_jwe_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWESessionConfig[ClaimsT]
) -> Session[ClaimsT]:
    """The request's JWE session, read on first use (fires ``on_read``/``on_expire``/``on_error`` once)."""
    return await _use(connection, config, JWESessionConfig)


get_jwe_session = use_jwe_session


async def update_jwe_session(
    connection: ASGIConnection[Any, Any, Any, Any],
    config: JWESessionConfig[ClaimsT],
    update: SessionUpdate | None = None,
    *,
    replace: bool = False,
) -> Session[ClaimsT]:
    """Update the JWE session (see :meth:`Session.update`)."""
    return await _update(connection, config, JWESessionConfig, update, replace)


async def clear_jwe_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWESessionConfig[ClaimsT]
) -> Session[ClaimsT]:
    """Clear the JWE session (see :meth:`Session.clear`)."""
    return await _clear(connection, config, JWESessionConfig)


def get_jwe_session_token(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWESessionConfig[Any]
) -> str | None:
    """The current token: the session's own once read or written, else the request's (header, cookie)."""
    return _token(connection, config, JWESessionConfig)


async def seal_jwe_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWESessionConfig[Any]
) -> str:
    """Seal the current session state into a token; no cookie, no hook, no state change."""
    return await _encode(connection, config, JWESessionConfig)


async def unseal_jwe_session(
    connection: ASGIConnection[Any, Any, Any, Any], config: JWESessionConfig[Any], token: str
) -> SessionSnapshot:
    """Decrypt and validate ``token``; raises :class:`SessionError`, fires no lifecycle hook."""
    return await _decode(connection, config, JWESessionConfig, token)
