"""What the session layer needs from shared state: a revocation check on read, a revoke on clear.

Sessions are stateless tokens; revocation is the one thing that needs shared state. The session
layer only knows this small protocol; the app's policy (``SessionPolicy.store``) names the
implementation (``None``, the default: no revocation at all).
:class:`~litestar_jwtsession.LitestarSessionStore` implements it over a Litestar ``Store``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from litestar_jwtsession.jose.claims import is_numeric_date

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.session.config import SessionConfig

__all__ = ("SessionStore", "remaining_lifetime")


@runtime_checkable
class SessionStore(Protocol):
    """Revocation backend of the sessions (``SessionPolicy.store``).

    ``claims`` is the verified payload of a token of ``config`` (``jti``, ``iat``, ``exp`` when
    present, ``sub`` and the rest); ``connection`` is the current Litestar connection.
    """

    async def is_revoked(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any]
    ) -> bool:
        """Whether the token was revoked. Called on every read of a verified token.

        ``True`` makes the token read as anonymous with an ``on_error`` of code
        ``ERR_SESSION_REVOKED``; raising :class:`~litestar_jwtsession.SessionError` instead rejects
        it with that error's code (e.g. ``ERR_REFRESH_TOKEN_REUSED``).
        """
        ...

    async def revoke(self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any]) -> None:
        """Revoke the token until its natural expiry. Called by ``Session.clear()``."""
        ...


def remaining_lifetime(config: SessionConfig[Any], claims: Mapping[str, Any], now: float) -> int | None:
    """Seconds (at least 1) until a token with ``claims`` can no longer be read, leeway included;
    ``None`` when it never expires (no ``exp`` and no ``max_age``)."""
    ends: list[float] = []
    exp = claims.get("exp")
    if is_numeric_date(exp):
        ends.append(exp)
    iat = claims.get("iat")
    if config.max_age_seconds is not None and is_numeric_date(iat):
        ends.append(iat + config.max_age_seconds)
    if not ends:
        return None
    return max(1, math.ceil(min(ends) + config.leeway - now) + 1)
