"""OpenTelemetry for the sessions: spans around full reads and writes, an event counter and a
histogram of read time (the ``otel`` extra: ``opentelemetry-api`` only).

.. code-block:: python

    from litestar_jwtsession.otel import OpenTelemetry

    app = Litestar(..., plugins=[JWTSessionPlugin(access=..., telemetry=OpenTelemetry())])

The app's SDK (or any other implementation of the API) decides where spans and metrics go; with
none configured, the API's no-op providers swallow them. Every event is also logged, as by the
default :class:`~litestar_jwtsession.session.events.LoggingTelemetry`.

This is the one module that imports ``opentelemetry`` (an import-linter contract says so), and
nothing imports it unless the app does: an app without it pays nothing. Reads served from the
verified-token cache (a guard's fast path) are not traced: they cost less than a span.

Attributes hold session names, outcomes and error codes; never a token, a key or a claim value.
"""

from __future__ import annotations

import time
from importlib import metadata
from typing import TYPE_CHECKING, Any

from litestar_jwtsession.errors import SessionError, StoreUnavailableError
from litestar_jwtsession.session.events import LoggingTelemetry

try:
    from opentelemetry import context, metrics, trace
    from opentelemetry.trace import Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the package
    raise ImportError(
        "litestar_jwtsession.otel needs the otel extra: pip install 'litestar-jwtsession[otel]'"
    ) from exc

if TYPE_CHECKING:
    from litestar_jwtsession.session.events import Field, SessionEvent, Trace, Tracing

__all__ = (
    "ERROR_CODE",
    "EVENTS_COUNTER",
    "EVENT",
    "OUTCOME",
    "READ_DURATION",
    "SCOPE",
    "SESSION",
    "OpenTelemetry",
)

SCOPE = "litestar_jwtsession"
"""The instrumentation scope of the tracer and the meter."""
EVENTS_COUNTER = "jwtsession.events"
READ_DURATION = "jwtsession.read.duration"
EVENT = "jwtsession.event"
SESSION = "jwtsession.session"
OUTCOME = "jwtsession.outcome"
ERROR_CODE = "jwtsession.error_code"
ERROR_TYPE = "error.type"  # OpenTelemetry's semantic convention for a failure's class

# a full read takes microseconds (a cached HMAC) to milliseconds (RSA, a store round trip)
_READ_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5)


def _version() -> str:
    try:
        return metadata.version("litestar-jwtsession")
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout
        return ""


def _attribute(field: str) -> str:
    if field == "code":
        return ERROR_CODE
    if field == "error":
        return ERROR_TYPE
    return "jwtsession." + field


class OpenTelemetry(LoggingTelemetry):
    """:class:`~litestar_jwtsession.session.events.Telemetry` on the OpenTelemetry API.

    Args:
        tracer_provider: where spans go (default: the global one, ``trace.set_tracer_provider``).
        meter_provider: where metrics go (default: the global one).

    Spans ``jwtsession.read`` (the full read of an incoming token, hooks and the refresh fallback
    included, so the refresh session's read and the re-issue are its children),
    ``jwtsession.update`` and ``jwtsession.clear``; a counter ``jwtsession.events`` of every event
    and a histogram ``jwtsession.read.duration`` (seconds). See ``docs/observability.md``.
    """

    __slots__ = ("_events", "_read_duration", "_tracer")

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        version = _version()
        self._tracer = trace.get_tracer(SCOPE, version, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, version, meter_provider=meter_provider)
        self._events = meter.create_counter(
            EVENTS_COUNTER, unit="{event}", description="Session events, by event and error code"
        )
        self._read_duration = meter.create_histogram(
            READ_DURATION,
            unit="s",
            description="Time of the full read of an incoming session token",
            explicit_bucket_boundaries_advisory=_READ_BUCKETS,
        )

    @property
    def tracing(self) -> Tracing | None:
        return self

    def emit(self, event: SessionEvent, /, **fields: Field) -> None:
        super().emit(event, **fields)  # the log record, as without OpenTelemetry
        attributes: dict[str, Any] = {EVENT: event.value}
        for name, value in fields.items():
            if type(value) is not int:  # counts are not dimensions
                attributes[_attribute(name)] = str(value)
        self._events.add(1, attributes)

    def start_read(self, session: str) -> Trace:
        return _Trace(self, "jwtsession.read", session, timed=True)

    def start_write(self, action: str, session: str) -> Trace:
        return _Trace(self, "jwtsession." + action, session, timed=False)


class _Trace:
    """One span, current until it ends (so the reads and writes it causes nest under it)."""

    __slots__ = ("_histogram", "_session", "_span", "_start", "_token")

    def __init__(self, owner: OpenTelemetry, name: str, session: str, *, timed: bool) -> None:
        self._session = session
        self._span = owner._tracer.start_span(
            name, attributes={SESSION: session}, record_exception=False, set_status_on_exception=False
        )
        # made current only when recorded: a span of a no-op provider (or dropped by the sampler)
        # has no children to adopt, and attaching a context is most of what such a span costs
        span = self._span
        self._token = context.attach(trace.set_span_in_context(span)) if span.is_recording() else None
        self._histogram = owner._read_duration if timed else None
        self._start = time.perf_counter()

    def end(self, outcome: str, code: str | None = None) -> None:
        attributes = {SESSION: self._session, OUTCOME: outcome}
        if code is not None:
            attributes[ERROR_CODE] = str(code)
        self._finish(attributes)

    def fail(self, error: BaseException) -> None:
        # the exception's class, never its message (a message may quote a token's jti)
        outcome = "unavailable" if isinstance(error, StoreUnavailableError) else "error"
        attributes = {SESSION: self._session, OUTCOME: outcome, ERROR_TYPE: type(error).__qualname__}
        if isinstance(error, SessionError):
            attributes[ERROR_CODE] = str(error.code)
        self._span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        self._finish(attributes)

    def _finish(self, attributes: dict[str, str]) -> None:
        elapsed = time.perf_counter() - self._start
        span = self._span
        span.set_attributes(attributes)
        if self._token is not None:
            context.detach(self._token)
        span.end()
        if self._histogram is not None:
            self._histogram.record(elapsed, attributes)
