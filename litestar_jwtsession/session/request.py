"""What a session needs of the request it belongs to; the request context provides it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.errors import SessionError
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.policy import SessionPolicy

__all__ = ("RequestScope",)


class RequestScope(Protocol):
    """The request side of a session: its headers and cookies, the app's policy, the connection
    handed to hooks, and whether the response can still carry cookies."""

    policy: SessionPolicy
    connection: Any
    writable: bool
    """``False`` for a WebSocket: it cannot set cookies."""
    response_started: bool

    def find_token(self, config: SessionConfig[Any]) -> tuple[str | None, bool]:
        """``(token, from_cookie)`` of ``config``'s session in the request (see ``Incoming``)."""
        ...

    async def csrf_refusal(
        self, config: SessionConfig[Any], claims: Mapping[str, Any]
    ) -> SessionError | None:
        """Why this request may not use ``config``'s cookie-borne token with ``claims``, if so."""
        ...
