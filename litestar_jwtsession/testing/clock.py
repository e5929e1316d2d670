"""A session clock that tests move by hand, shared by the configs of one app."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from litestar_jwtsession.jose import parse_duration

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("SessionClock",)


class SessionClock:
    """A controllable clock for the configs' ``clock=`` option: seconds since the epoch that only
    change when the test says so.

    Build every config of the app under test with the same instance, then move time with
    :meth:`advance` or :meth:`set`::

        clock = SessionClock()
        access = JWSSessionConfig(key=..., max_age="5m", clock=clock)
        refresh = JWESessionConfig(key=..., max_age="7D", clock=clock)
        ...
        clock.advance("5m")  # the access session has expired

    It starts at the current time in whole seconds. Keep it at or after the real time: HTTP
    clients (like browsers) discard a cookie whose ``Expires`` lies in the real past as it arrives,
    whatever this clock says. Clients handed to
    :func:`~litestar_jwtsession.testing.drop_expired_cookies` forget their expired cookies as soon as
    the clock moves.
    """

    __slots__ = ("_listeners", "_now")

    def __init__(self, start: float | datetime | None = None) -> None:
        self._now = float(math.floor(time.time())) if start is None else _seconds(start)
        self._listeners: list[Callable[[float], None]] = []

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        """The current time, in seconds since the epoch."""
        return self._now

    def advance(self, by: float | timedelta | str) -> float:
        """Move the clock forward ``by`` seconds (a number, a ``timedelta``, or unjwt's duration
        grammar such as ``"15m"`` or ``"7D"``) and return the new time."""
        if isinstance(by, str):
            seconds: float = parse_duration(by)
        elif isinstance(by, timedelta):
            seconds = by.total_seconds()
        else:
            seconds = float(by)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"advance() moves forward only; got {by!r} (use set() to go back)")
        return self.set(self._now + seconds)

    def set(self, when: float | datetime) -> float:
        """Set the clock to ``when`` (seconds since the epoch, or an aware ``datetime``) and return it."""
        self._now = _seconds(when)
        for listener in list(self._listeners):
            listener(self._now)
        return self._now

    def on_change(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(now)`` whenever the clock is moved."""
        self._listeners.append(listener)

    def __repr__(self) -> str:
        return f"SessionClock({self._now!r})"


def _seconds(when: float | datetime) -> float:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("pass an aware datetime (e.g. with tzinfo=timezone.utc)")
        return when.timestamp()
    seconds = float(when)
    if not math.isfinite(seconds):
        raise ValueError(f"not a point in time: {when!r}")
    return seconds
