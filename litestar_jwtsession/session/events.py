"""What the sessions report about themselves: events, and optionally traces of reads and writes.

The session code calls a :class:`Telemetry` at the few points worth knowing about (a refused
token, a refresh, a rotation, a detected reuse, a revocation, a store outage); the app's policy
names it (``SessionPolicy.telemetry``). The default, :class:`LoggingTelemetry`, writes each event
to the ``litestar_jwtsession`` logger (standard ``logging``, no configuration imposed) and costs
one ``isEnabledFor`` check when its level is off. An OpenTelemetry implementation lives in
:mod:`litestar_jwtsession.otel` (the ``otel`` extra).

Events carry names, stable error codes, outcomes and counts: never a token, a key, a CSRF value
or a claim value. Successful reads report nothing, and reads served from the verified-token cache
(a guard's fast path) never reach this module.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Awaitable

__all__ = (
    "LOGGER_NAME",
    "LoggingTelemetry",
    "SessionEvent",
    "Telemetry",
    "Trace",
    "Tracing",
    "default_telemetry",
    "traced",
)

LOGGER_NAME = "litestar_jwtsession"
logger = logging.getLogger(LOGGER_NAME)
T = TypeVar("T")

Field = str | int
"""What an event field may hold: names, codes, outcomes, counts (never a token or a claim)."""


class SessionEvent(StrEnum):
    """The events of :class:`Telemetry` (see ``docs/observability.md`` for their fields)."""

    TOKEN_REFUSED = "token_refused"
    REFRESH = "refresh"
    ROTATION = "rotation"
    REUSE_DETECTED = "reuse_detected"
    REVOCATION = "revocation"
    SUBJECT_REVOCATION = "subject_revocation"
    STORE_UNAVAILABLE = "store_unavailable"
    STORE_RECOVERED = "store_recovered"


# (level, message): the message formats the event's fields by name (``record.args`` is the dict)
_LOG_LINES: dict[SessionEvent, tuple[int, str]] = {
    SessionEvent.TOKEN_REFUSED: (logging.DEBUG, "session %(session)r: incoming token refused (%(code)s)"),
    # routine: every client refreshes once per access lifetime
    SessionEvent.REFRESH: (logging.DEBUG, "session %(session)r: refresh fallback %(outcome)s"),
    SessionEvent.ROTATION: (logging.DEBUG, "session %(session)r: refresh token %(outcome)s"),
    SessionEvent.REUSE_DETECTED: (
        logging.WARNING,
        "session %(session)r: an already rotated refresh token was presented again; "
        "its family is revoked (%(code)s)",
    ),
    SessionEvent.REVOCATION: (logging.INFO, "session %(session)r: clear() revoked %(count)s token(s)"),
    SessionEvent.SUBJECT_REVOCATION: (
        logging.INFO,
        "session %(session)r: every token of one subject issued up to now revoked",
    ),
    SessionEvent.STORE_UNAVAILABLE: (
        logging.WARNING,
        "session store %(store)s unavailable (%(error)s); requests that need it answer 503 until it is back",
    ),
    SessionEvent.STORE_RECOVERED: (logging.INFO, "session store %(store)s is reachable again"),
}

EVENT_LEVELS: dict[SessionEvent, int] = {event: level for event, (level, _) in _LOG_LINES.items()}
"""The logging level of each event."""


class Trace(Protocol):
    """One traced read or write: ended exactly once, by :meth:`end` or :meth:`fail`."""

    def end(self, outcome: str, code: str | None = None) -> None:
        """The operation finished: ``outcome`` (``"valid"``, ``"refused"``, ``"ok"``...) and the
        error code of a refusal."""
        ...

    def fail(self, error: BaseException) -> None:
        """The operation raised ``error`` (re-raised by the caller)."""
        ...


class Tracing(Protocol):
    """Spans (and timings) around the full read of a session and around its writes."""

    def start_read(self, session: str) -> Trace:
        """A read of session ``session`` begins (a span made current until it ends)."""
        ...

    def start_write(self, action: str, session: str) -> Trace:
        """A write (``"update"``, ``"clear"``) of session ``session`` begins."""
        ...


@runtime_checkable
class Telemetry(Protocol):
    """Where an app's sessions report events; ``JWTSessionPlugin(telemetry=...)`` names it."""

    def emit(self, event: SessionEvent, /, **fields: Field) -> None:
        """Report ``event`` with ``fields`` (``session``, ``code``, ``outcome``, ``count``...)."""
        ...

    @property
    def tracing(self) -> Tracing | None:
        """Spans around reads and writes; ``None``: none (then a read pays one ``None`` check)."""
        ...


class LoggingTelemetry:
    """The default :class:`Telemetry`: every event is a record of the ``litestar_jwtsession``
    logger at the event's level, with structured fields in ``extra``: ``jwtsession_event`` and
    ``jwtsession_<field>`` for each field (``jwtsession_session``, ``jwtsession_code``...).
    (Not ``event``: structlog and others use that name for the message.) No tracing."""

    __slots__ = ()

    @property
    def tracing(self) -> Tracing | None:
        return None

    def emit(self, event: SessionEvent, /, **fields: Field) -> None:
        level, message = _LOG_LINES[event]
        if not logger.isEnabledFor(level):
            return  # nothing is built for a level that is off
        extra: dict[str, Any] = {"jwtsession_event": event.value}
        for name, value in fields.items():
            extra["jwtsession_" + name] = value
        logger.log(level, message, fields, extra=extra)


_DEFAULT = LoggingTelemetry()


def default_telemetry() -> LoggingTelemetry:
    """The telemetry of an app that names none: logging only."""
    return _DEFAULT


async def traced(trace: Trace, work: Awaitable[T]) -> T:
    """Await ``work`` inside ``trace``: ``"ok"`` when it returns, :meth:`Trace.fail` when it raises."""
    try:
        result = await work
    except BaseException as exc:
        trace.fail(exc)
        raise
    trace.end("ok")
    return result
