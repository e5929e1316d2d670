"""Fixtures of the observability tests: the library logger's records, OpenTelemetry's SDK with
in-memory exporters, and a session store whose server refuses every connection."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from litestar.stores.redis import RedisStore
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from litestar_jwtsession.otel import OpenTelemetry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


@pytest.fixture
def library_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """``caplog`` holding exactly the ``litestar_jwtsession`` logger's records, DEBUG and up.

    The handler sits on the library logger itself, which propagates nothing meanwhile: Litestar's
    logging set-up may replace the root handlers (pytest's among them), and a record reaching
    both would be captured twice."""
    logger = logging.getLogger("litestar_jwtsession")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)
        logger.propagate = propagate


@dataclass
class Otel:
    """An SDK set up for one test: ``telemetry`` for the plugin, ``spans`` and ``reader`` to read."""

    telemetry: OpenTelemetry
    spans: InMemorySpanExporter
    reader: InMemoryMetricReader


@pytest.fixture
def otel() -> Iterator[Otel]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = OpenTelemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield Otel(telemetry, spans, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
async def unreachable_store() -> AsyncIterator[RedisStore]:
    """A real ``RedisStore`` whose server is down: its port refuses every connection (found free,
    then closed), and its client gives up at once instead of retrying with back-off."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1)
    yield RedisStore(client, namespace="observability")
    await client.aclose()
