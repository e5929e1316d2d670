"""unjwt's duration grammar (``"15m"``, ``"7D"``, ``3600``) converted to whole seconds.

Ported exactly, including its case sensitivity: ``m`` is minutes and ``M`` months (30 days);
there is no lowercase ``d``, ``w`` or ``y``. A ``timedelta`` is accepted as a Python nicety.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ("Duration", "parse_duration")

Duration = int | timedelta | str

_UNITS = {
    "s": 1, "second": 1, "seconds": 1,
    "m": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "D": 86_400, "day": 86_400, "days": 86_400,
    "W": 604_800, "week": 604_800, "weeks": 604_800,
    "M": 2_592_000, "month": 2_592_000, "months": 2_592_000,
    "Y": 31_536_000, "year": 31_536_000, "years": 31_536_000,
}  # fmt: skip
_PATTERN = re.compile(r"([0-9]+)(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")?")


def parse_duration(value: Duration) -> int:
    """Return ``value`` in seconds; raise ``TypeError`` for anything unjwt would refuse."""
    if isinstance(value, bool):  # bool is an int subclass; ``True`` is no duration
        raise TypeError("Duration must be an integer number of seconds.")
    if isinstance(value, timedelta):
        seconds_f = value.total_seconds()
        if seconds_f != int(seconds_f):
            raise TypeError("Duration must be an integer number of seconds.")
        seconds = int(seconds_f)
    elif isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        match = _PATTERN.fullmatch(value)
        if match is None:
            raise TypeError(
                "Invalid duration format. Must be an integer or a string like '10m', '2h', '7D', etc."
            )
        seconds = int(match.group(1)) * _UNITS.get(match.group(2) or "s", 1)
    else:
        raise TypeError("Duration must be an integer number of seconds.")
    if seconds <= 0:
        raise TypeError("Duration must be a positive integer number of seconds.")
    return seconds
