"""How long a login lives: its absolute lifetime, carried in its tokens, and sliding expiry.

A *login* begins when a session is written afresh (``update(..., replace=True)`` on a route that
logs a user in) and goes on through every token issued from it: the refresh tokens of its family
(rotation successors, slides) and the access sessions re-issued from them. Under
``JWTSessionPlugin(absolute_lifetime=...)`` each of its tokens carries the second the login began,
the ``fat`` claim, and an ``exp`` no later than ``fat + absolute_lifetime``: whichever path reads
a token (the guards' cached read included), none outlives its login, with or without a store. A
token read at or past that end is refused with ``ERR_SESSION_LIFETIME_EXCEEDED`` (``on_expire``
fires), also when its own ``exp`` ran out with it.

A session with ``slide_after`` is re-issued when it is read past that fraction of its lifetime
(:func:`slide_due`); the re-issue stays within the absolute lifetime, so a session that cannot
gain from it is left as it is. The idle timeout needs shared state (a family's last refresh) and
lives in the store (:mod:`litestar_jwtsession.integration.lifetime`); this module carries its value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.jose.claims import is_numeric_date, slide_point

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.session.config import SessionConfig

__all__ = ("EXPIRY_CODES", "LIFETIME_CLAIM", "LifetimePolicy", "birth_of", "lifetime_error", "slide_due")

LIFETIME_CLAIM = "fat"
"""The claim carrying the second the login of a token began (under an absolute lifetime)."""

EXPIRY_CODES = frozenset(
    {ErrorCode.JWT_EXPIRED, ErrorCode.SESSION_LIFETIME_EXCEEDED, ErrorCode.SESSION_IDLE_TIMEOUT}
)
"""Refusals that mean a session ran out (``on_expire`` fires), rather than a bad token."""

_CAUSE = ("jti", "iat", "exp", "sub", LIFETIME_CLAIM)


def birth_of(claims: Mapping[str, Any]) -> float | None:
    """When the login of a token with ``claims`` began: its ``fat``, else its own ``iat``."""
    fat = claims.get(LIFETIME_CLAIM)
    if is_numeric_date(fat):
        return fat
    iat = claims.get("iat")
    return iat if is_numeric_date(iat) else None


def lifetime_error(code: ErrorCode, message: str, claims: Mapping[str, Any]) -> SessionError:
    """A refusal by the lifetime policy, carrying what an expiry hook needs (as ``JWT_EXPIRED``)."""
    return SessionError(code, message, claims={name: claims[name] for name in _CAUSE if name in claims})


@dataclass(frozen=True, slots=True)
class LifetimePolicy:
    """What an app decided about the lifetime of its logins (``JWTSessionPlugin``'s options)."""

    absolute_lifetime: int | None
    """Seconds a login lives at most, however often it is refreshed or slides."""
    idle_timeout: int | None
    """Seconds a refresh family may go without a refresh (kept by the store)."""
    sessions: frozenset[str]
    """The names of the sessions a login consists of (the plugin's access and refresh sessions)."""

    def absolute_for(self, config: SessionConfig[Any]) -> int | None:
        """The absolute lifetime that bounds ``config``'s tokens, if any."""
        return self.absolute_lifetime if config.name in self.sessions else None

    def refusal(
        self, config: SessionConfig[Any], claims: Mapping[str, Any], now: float
    ) -> SessionError | None:
        """``ERR_SESSION_LIFETIME_EXCEEDED`` if the login of a token of ``config`` with ``claims``
        is over at ``now`` (rounded and with the config's leeway, as ``exp`` is checked)."""
        absolute = self.absolute_for(config)
        birth = birth_of(claims)
        if absolute is None or birth is None or birth + absolute > math.floor(now + 0.5) - config.leeway:
            return None
        return lifetime_error(
            ErrorCode.SESSION_LIFETIME_EXCEEDED,
            f"session {config.name!r}: its login is older than the absolute lifetime ({absolute} s)",
            claims,
        )

    def stamp(self, config: SessionConfig[Any], claims: dict[str, Any], birth: float) -> None:
        """Make freshly minted ``claims`` of ``config`` carry their login's ``birth`` (never later
        than their ``iat``) and end with it: ``exp`` at most ``birth + absolute_lifetime``."""
        absolute = self.absolute_for(config)
        if absolute is None:
            return
        start = math.floor(min(birth, claims["iat"]))
        claims[LIFETIME_CLAIM] = start
        exp = claims.get("exp")
        if not is_numeric_date(exp) or exp > start + absolute:
            claims["exp"] = start + absolute


def slide_due(
    config: SessionConfig[Any], claims: Mapping[str, Any], now: float, lifetime: LifetimePolicy | None
) -> bool:
    """Whether a session of ``config`` whose token has ``claims``, read at ``now``, is past its
    slide point and would gain from a re-issue (a later ``exp`` within its absolute lifetime)."""
    slide_at = slide_point(dict(claims), config.codec.rules)
    max_age = config.max_age_seconds
    if slide_at is None or max_age is None or math.floor(now + 0.5) < slide_at:
        return False
    new_exp = math.floor(now) + max_age
    absolute = None if lifetime is None else lifetime.absolute_for(config)
    birth = birth_of(claims)
    if absolute is not None and birth is not None:
        new_exp = min(new_exp, math.floor(birth) + absolute)
    exp = claims.get("exp")
    return not is_numeric_date(exp) or new_exp > exp
