"""What the sessions of one request obey beyond their configs: the installer's decisions.

Configs are declarative and may be shared by several apps; what one app decides about them (which
cookies need a CSRF token, which session is re-issued from a refresh session, which store checks
revocation, where events go, how long a login lives) is the app's own. The Litestar plugin
builds a frozen runtime per app that satisfies this protocol; the session layer only reads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.session.claims import SessionSnapshot
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.events import Telemetry, Tracing
    from litestar_jwtsession.session.hooks import HookEvent
    from litestar_jwtsession.session.lifetime import LifetimePolicy
    from litestar_jwtsession.session.store import SessionStore

__all__ = ("SessionPolicy",)


class SessionPolicy(Protocol):
    """The per-app decisions the session layer reads (see the module docstring)."""

    @property
    def configs(self) -> tuple[SessionConfig[Any], ...]:
        """Every session of the app (the cookie sessions among them vouch for each other's CSRF)."""
        ...

    @property
    def csrf_sessions(self) -> frozenset[str]:
        """Names of the sessions whose cookie needs a CSRF token on unsafe requests."""
        ...

    @property
    def store(self) -> SessionStore | None:
        """The revocation backend; ``None``: no revocation."""
        ...

    @property
    def fallback(self) -> str | None:
        """The name of the session re-issued by :meth:`refresh_fallback` when it is missing."""
        ...

    @property
    def telemetry(self) -> Telemetry:
        """Where the sessions report events (logging by default)."""
        ...

    @property
    def tracing(self) -> Tracing | None:
        """``telemetry.tracing``, kept apart: the one check a read makes when nothing traces."""
        ...

    @property
    def lifetime(self) -> LifetimePolicy | None:
        """How long a login lives (absolute lifetime, idle timeout); ``None``: as long as its tokens."""
        ...

    async def refresh_fallback(self, event: HookEvent) -> None:
        """Re-issue the missing session of ``event`` (runs after the config's ``on_missing`` hooks)."""
        ...

    def issuing(
        self, connection: Any, config: SessionConfig[Any], data: dict[str, Any], before: SessionSnapshot
    ) -> None:
        """``update()`` is about to mint a token of ``config`` with ``data`` (the session's state
        ``before`` the update): add or drop the app's bookkeeping claims in ``data``."""
        ...

    async def issued(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any], before: SessionSnapshot
    ) -> None:
        """``update()`` sealed a token with ``claims``, which is not yet the session's: raising
        rolls the update back (e.g. the store that records it is unavailable)."""
        ...

    async def renew(self, event: HookEvent) -> None:
        """Re-issue the valid session of ``event`` with a fresh ``exp`` (a slide): ``update()``, or
        the rotation of a rotating refresh session. Raises ``SessionError`` if it cannot."""
        ...
