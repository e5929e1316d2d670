"""The functional API: unjwt's ``useJWESession`` & co. in snake_case.

``connection`` is any Litestar ``ASGIConnection`` (a ``Request`` or a ``WebSocket``); its sessions
live in the request context, created on the first session access. One implementation serves both
kinds of config; the ``_jws_``/``_jwe_`` names bind it to one kind.
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

__all__ = ("SessionFunctions",)  # and the functions bound below

ClaimsT = TypeVar("ClaimsT")


class SessionFunctions:
    """The functional API for one kind of session config (JWS or JWE): each function checks that
    it was given a config of that kind, so a JWE config passed to ``use_jws_session`` is a
    ``TypeError`` rather than a surprise."""

    __slots__ = ("kind",)

    def __init__(self, kind: type[SessionConfig[Any]]) -> None:
        self.kind = kind

    def _session(
        self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT]
    ) -> Session[ClaimsT]:
        if not isinstance(config, self.kind):
            raise TypeError(f"expected a {self.kind.__name__}, got {type(config).__name__}")
        return request_context(connection).session(config)

    async def use(
        self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT]
    ) -> Session[ClaimsT]:
        """The request's session of ``config``, read on first use (fires ``on_read``,
        ``on_expire`` or ``on_error`` once per request)."""
        session = self._session(connection, config)
        # built from a guard's read, or read earlier in the request: no read to await
        return session if session.is_loaded else await session.load()

    async def update(
        self,
        connection: ASGIConnection[Any, Any, Any, Any],
        config: SessionConfig[ClaimsT],
        update: SessionUpdate | None = None,
        *,
        replace: bool = False,
        login: bool = False,
    ) -> Session[ClaimsT]:
        """Update the session (see :meth:`Session.update`; ``login=True`` stamps ``auth_time``).
        ``config`` may be a modified copy of the registered one (e.g. another clock): it shares
        the session by name, and its own settings drive this write."""
        return await self._session(connection, config).update_with(
            config, update, replace=replace, login=login
        )

    async def clear(
        self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[ClaimsT]
    ) -> Session[ClaimsT]:
        """Clear the session (see :meth:`Session.clear`)."""
        return await self._session(connection, config).clear()

    def token(self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any]) -> str | None:
        """The current token: the session's own once read or written, else the request's (session
        header first, then cookie)."""
        session = self._session(connection, config)
        if session.id is not None or session.token is not None or session.is_loaded:
            return session.token
        return request_context(connection).find_token(config)[0]

    async def encode(self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any]) -> str:
        """Sign (JWS) or seal (JWE) the current session state into a token; no cookie, no hook,
        no state change."""
        session = await self.use(connection, config)
        # unlike unjwt, never mint a token without ``jti``: its own reader would reject it
        return await config.encode_token_async(session.state_claims(session.id or str(uuid.uuid4())))

    async def decode(
        self, connection: ASGIConnection[Any, Any, Any, Any], config: SessionConfig[Any], token: str
    ) -> SessionSnapshot:
        """Verify (JWS) or decrypt (JWE) ``token`` against ``config`` and its typed claims;
        raises :class:`SessionError` and fires no lifecycle hook."""
        self._session(connection, config)  # the same checks as every other function
        claims, _ = await decode_token(config, token, connection=connection, run=_awaited)
        return snapshot_of(claims, token)


async def _awaited(calls: Awaitable[Any]) -> Any:
    return await calls


_JWS = SessionFunctions(JWSSessionConfig)
_JWE = SessionFunctions(JWESessionConfig)

use_jws_session, use_jwe_session = _JWS.use, _JWE.use
get_jws_session, get_jwe_session = _JWS.use, _JWE.use  # unjwt's other name for the same read
update_jws_session, update_jwe_session = _JWS.update, _JWE.update
clear_jws_session, clear_jwe_session = _JWS.clear, _JWE.clear
get_jws_session_token, get_jwe_session_token = _JWS.token, _JWE.token
sign_jws_session, seal_jwe_session = _JWS.encode, _JWE.encode
verify_jws_session, unseal_jwe_session = _JWS.decode, _JWE.decode
