"""The functional API: unjwt's ``useJWESession`` & co. in snake_case.

``connection`` is any Litestar ``ASGIConnection`` (a ``Request`` or a ``WebSocket``); its sessions
live in the request context, created on the first session access.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.session.claims import SessionSnapshot, snapshot_of
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
from litestar_jwtsession.session.verify import decode_token

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from litestar.connection import ASGIConnection

    from litestar_jwtsession.session.session import Session
    from litestar_jwtsession.session.writes import SessionUpdate

__all__ = (
    "clear_jwe_session",
    "clear_jws_session",
    "get_jwe_session",
    "get_jwe_session_token",
    "get_jws_session",
    "get_jws_session_token",
    "seal_jwe_session",
    "sign_jws_session",
    "unseal_jwe_session",
    "update_jwe_session",
    "update_jws_session",
    "use_jwe_session",
    "use_jws_session",
    "verify_jws_session",
)

ClaimsT = TypeVar("ClaimsT")


def _session(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT], kind: type[Any]
) -> Session[ClaimsT]:
    if not isinstance(config, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(config).__name__}")
    return request_context(connection).session(config)


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
    return await _session(connection, config, kind).update_with(config, update, replace=replace)


async def _clear(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT], kind: type[Any]
) -> Session[ClaimsT]:
    return await _session(connection, config, kind).clear()


def _token(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any]
) -> str | None:
    session = _session(connection, config, kind)
    if session.id is not None or session.token is not None or session.is_loaded:
        return session.token
    return request_context(connection).incoming.find_token(config)[0]


async def _encode(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any]
) -> str:
    session = await _use(connection, config, kind)
    # unlike unjwt, never mint a token without ``jti``: its own reader would reject it
    return await config.encode_token_async(session.state_claims(session.id or str(uuid.uuid4())))


async def _decode(
    connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], kind: type[Any], token: str
) -> SessionSnapshot:
    _session(connection, config, kind)  # the same checks as every other function
    claims, _ = await decode_token(
        config, token, connection=connection, run=_awaited
    )  # typed claims must convert
    return snapshot_of(claims, token)


async def _awaited(calls: Awaitable[Any]) -> Any:
    return await calls


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
