"""The lifetime policy in the store: when each refresh family was last refreshed.

With ``JWTSessionPlugin(store=..., idle_timeout=...)`` and refresh-token rotation on, the store
keeps one record per family, keyed by its opaque handle (``fid``) as its revocation is:
``seen:<refresh name>:<fid>``, the second of its last refresh (a rotation) or of the last slide of
an access session issued from it, rewritten each time and expiring one idle timeout (and the
leeway) later. The revocation check of a refresh token reads it in the round trip that reads its
other keys, and refuses a family not refreshed within the idle timeout
(``ERR_SESSION_IDLE_TIMEOUT``; ``on_expire`` fires on the refresh config). The token's own ``iat``
counts as a refresh too, so a record that lapsed or was never written changes nothing: a family
whose record expired has an older token as well.

A family's start needs no record: its tokens carry it (``fat``, sealed in the refresh token), and
the absolute lifetime is checked on them (:mod:`litestar_jwtsession.session.lifetime`), with or
without a store; the device registry keeps when each device session began for its list. Without a
store the refresh session's ``max_age`` is its idle timeout.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.jose.claims import is_numeric_date
from litestar_jwtsession.session.lifetime import lifetime_error

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from litestar_jwtsession.integration.store_ops import StoreOps
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.lifetime import LifetimePolicy

__all__ = ("FamilyRecords",)


class FamilyRecords:
    """The ``seen`` records of the refresh families of one store, and the stamp of a rotation's
    successor (see the module docstring). ``key(kind, session name, value)`` is the store's key
    builder."""

    __slots__ = ("_key", "config", "policy")

    def __init__(
        self, policy: LifetimePolicy, key: Callable[[str, str, str], str], config: SessionConfig[Any]
    ) -> None:
        self.policy = policy
        self.config = config
        """The refresh config whose families these are."""
        self._key = key

    def keys(self, handle: str) -> list[str]:
        """The keys :meth:`refusal` reads for family ``handle`` (none without an idle timeout)."""
        return [] if self.policy.idle_timeout is None else [self._key("seen", self.config.name, handle)]

    def refusal(
        self, claims: Mapping[str, Any], values: list[bytes | None], now: float
    ) -> SessionError | None:
        """``ERR_SESSION_IDLE_TIMEOUT`` if the family of a refresh token with ``claims`` was not
        refreshed within the idle timeout at ``now``, given the values of its :meth:`keys`."""
        idle = self.policy.idle_timeout
        if idle is None:
            return None
        iat = claims.get("iat")
        times = [
            time for time in (iat if is_numeric_date(iat) else None, _seconds(values[0])) if time is not None
        ]
        # rounded and with the leeway, as exp is checked
        if not times or max(times) + idle > math.floor(now + 0.5) - self.config.leeway:
            return None
        return lifetime_error(
            ErrorCode.SESSION_IDLE_TIMEOUT,
            f"session {self.config.name!r}: its family was not refreshed within the idle timeout ({idle} s)",
            claims,
        )

    def stamp(self, claims: dict[str, Any], birth: float | None) -> None:
        """Make a rotation successor's ``claims`` carry their family's ``birth`` and end with it."""
        if birth is not None:
            self.policy.stamp(self.config, claims, birth)

    async def touch(self, store: StoreOps, handle: str, now: float) -> None:
        """Note a refresh (or a slide) of family ``handle`` at ``now`` (with an idle timeout)."""
        idle = self.policy.idle_timeout
        if idle is not None:
            await store.set(
                self._key("seen", self.config.name, handle),
                str(math.floor(now)),
                idle + self.config.leeway + 1,
            )


def _seconds(value: bytes | None) -> int | None:
    """A record's second, or ``None`` (absent, or not a number: then the token's ``iat`` decides)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
