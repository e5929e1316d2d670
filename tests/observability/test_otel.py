"""OpenTelemetry (the ``otel`` extra): spans around full reads and writes, the event counter and
the read-time histogram, read back from the SDK's in-memory exporters; and the zero cost of the
extra for an app that does not use it."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import StatusCode

from litestar_jwtsession import JWSSessionConfig
from litestar_jwtsession.otel import OpenTelemetry
from tests.observability.conftest import Otel
from tests.observability.test_log_events import CANARY_SUB, secrets_of
from tests.stores.common import ACCESS_KEY, ACCESS_MAX_AGE, call, client, log_in, make_app, make_configs

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan


def spans(otel: Otel) -> list[tuple[str, dict[str, Any]]]:
    """``(name, attributes)`` of each finished span, in the order they ended."""
    return [(span.name, dict(span.attributes or {})) for span in otel.spans.get_finished_spans()]


def points(otel: Otel, metric: str) -> list[Any]:
    """The data points of ``metric`` collected so far."""
    found: list[Any] = []
    data = otel.reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            assert scope.scope.name == "litestar_jwtsession"
            found += [point for m in scope.metrics if m.name == metric for point in m.data.data_points]
    return found


def counts(otel: Otel) -> dict[tuple[tuple[str, Any], ...], int]:
    """The ``jwtsession.events`` counter by attribute set."""
    return {
        tuple(sorted(point.attributes.items())): point.value for point in points(otel, "jwtsession.events")
    }


def uncached_configs() -> tuple[Any, Any, Any]:
    """The stores' test configs with the verified-token cache off: every read is a full read."""
    _, refresh, clock = make_configs()
    access = JWSSessionConfig(
        key=ACCESS_KEY, name="access", max_age=ACCESS_MAX_AGE, clock=clock, token_cache_size=0
    )
    return access, refresh, clock


async def test_a_read_and_a_write_are_spans_with_the_session_and_outcome(otel: Otel) -> None:
    access, refresh, _ = uncached_configs()
    app = make_app(access, refresh, telemetry=otel.telemetry)
    async with client(app) as http:
        access_token, _ = await log_in(http)
        assert spans(otel) == [
            # login: the access dependency reads (nothing came; the refresh fallback looks for a
            # refresh session, a child span that ends first), then both sessions are written
            ("jwtsession.read", {"jwtsession.session": "refresh", "jwtsession.outcome": "missing"}),
            ("jwtsession.read", {"jwtsession.session": "access", "jwtsession.outcome": "missing"}),
            ("jwtsession.update", {"jwtsession.session": "access", "jwtsession.outcome": "ok"}),
            ("jwtsession.update", {"jwtsession.session": "refresh", "jwtsession.outcome": "ok"}),
        ]
        otel.spans.clear()
        assert (await call(http, "GET", "/me", access=access_token)).status_code == 200
        assert spans(otel) == [
            ("jwtsession.read", {"jwtsession.session": "access", "jwtsession.outcome": "valid"}),
        ]
        otel.spans.clear()
        response = await call(http, "POST", "/logout", access=access_token)
        assert response.status_code == 200
    logout = spans(otel)
    # both dependencies read (Litestar may resolve them in either order), then the handler clears
    assert sorted(logout[:2], key=str) == [
        ("jwtsession.read", {"jwtsession.session": "access", "jwtsession.outcome": "valid"}),
        ("jwtsession.read", {"jwtsession.session": "refresh", "jwtsession.outcome": "missing"}),
    ]
    assert logout[2:] == [
        ("jwtsession.clear", {"jwtsession.session": "access", "jwtsession.outcome": "ok"}),
        ("jwtsession.clear", {"jwtsession.session": "refresh", "jwtsession.outcome": "ok"}),
    ]
    assert all(span.status.status_code is StatusCode.UNSET for span in otel.spans.get_finished_spans())


async def test_a_refused_token_is_counted_by_its_code_and_each_read_is_timed(otel: Otel) -> None:
    access, refresh, clock = uncached_configs()
    app = make_app(access, refresh, telemetry=otel.telemetry)
    async with client(app) as http:
        access_token, _ = await log_in(http)
        for _ in range(3):
            assert (await call(http, "GET", "/me", access=access_token)).status_code == 200
        clock.now += ACCESS_MAX_AGE + 1
        otel.spans.clear()
        for _ in range(2):
            assert (await call(http, "GET", "/me", access=access_token)).status_code == 401
    refused = {
        "jwtsession.session": "access",
        "jwtsession.outcome": "refused",
        "jwtsession.error_code": "ERR_JWT_EXPIRED",
    }
    assert [name for name, _ in spans(otel)] == ["jwtsession.read", "jwtsession.read"] * 2
    assert spans(otel)[1] == ("jwtsession.read", refused)  # the refresh read (missing) ends first
    assert counts(otel) == {
        (
            ("jwtsession.error_code", "ERR_JWT_EXPIRED"),
            ("jwtsession.event", "token_refused"),
            ("jwtsession.session", "access"),
        ): 2
    }
    durations = {
        tuple(sorted(point.attributes.items())): point for point in points(otel, "jwtsession.read.duration")
    }
    valid = durations[(("jwtsession.outcome", "valid"), ("jwtsession.session", "access"))]
    assert valid.count == 3  # the three good reads
    assert valid.sum > 0
    assert sum(valid.bucket_counts) == 3
    assert valid.explicit_bounds[0] == 1e-5  # buckets for microseconds, not the SDK's default
    assert durations[tuple(sorted(refused.items()))].count == 2
    # the refresh session looked for by login's read and by both refused reads' fallback
    missing = durations[(("jwtsession.outcome", "missing"), ("jwtsession.session", "refresh"))]
    assert missing.count == 3


async def test_the_refresh_fallback_nests_under_the_read_it_serves(otel: Otel) -> None:
    access, refresh, clock = uncached_configs()
    app = make_app(access, refresh, store=MemoryStore(), telemetry=otel.telemetry)
    async with client(app) as http:
        _, refresh_token = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        otel.spans.clear()
        assert (await call(http, "GET", "/me", refresh=refresh_token)).status_code == 200
    finished: list[ReadableSpan] = list(otel.spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in finished}
    tree = [
        (
            span.name,
            span.attributes["jwtsession.session"] if span.attributes else None,
            None if span.parent is None else by_id[span.parent.span_id].name,
        )
        for span in finished
    ]
    assert tree == [  # (span, session, parent span) in the order they ended
        ("jwtsession.read", "refresh", "jwtsession.read"),  # the fallback reads the refresh session
        ("jwtsession.update", "access", "jwtsession.read"),  # ... and re-issues the access session
        ("jwtsession.read", "access", None),  # the read the guard asked for
    ]
    root = finished[-1]
    assert root.attributes == {"jwtsession.session": "access", "jwtsession.outcome": "reissued"}
    assert root.parent is None
    assert all(span.context.trace_id == root.context.trace_id for span in finished)
    assert counts(otel) == {
        (
            ("jwtsession.event", "rotation"),
            ("jwtsession.outcome", "rotated"),
            ("jwtsession.session", "refresh"),
        ): 1,
        (
            ("jwtsession.event", "refresh"),
            ("jwtsession.outcome", "reissued"),
            ("jwtsession.session", "access"),
        ): 1,
    }


async def test_a_store_outage_fails_the_read_span_and_is_counted_once(
    otel: Otel, unreachable_store: RedisStore
) -> None:
    access, refresh, _ = uncached_configs()
    app = make_app(  # (device sessions off: they would make the login itself need the store)
        access, refresh, store=unreachable_store, store_timeout=1, telemetry=otel.telemetry, devices=False
    )
    async with client(app) as http:
        access_token, _ = await log_in(http)
        otel.spans.clear()
        for _ in range(2):
            assert (await call(http, "GET", "/me", access=access_token)).status_code == 503
    failed = otel.spans.get_finished_spans()
    assert [span.name for span in failed] == ["jwtsession.read", "jwtsession.read"]
    for span in failed:
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "StoreUnavailableError"  # the class, never the message
        assert span.attributes == {
            "jwtsession.session": "access",
            "jwtsession.outcome": "unavailable",
            "jwtsession.error_code": "ERR_STORE_UNAVAILABLE",
            "error.type": "StoreUnavailableError",
        }
        assert list(span.events) == []  # no exception event: its message could quote a token's jti
    assert counts(otel) == {
        (
            ("error.type", "ConnectionError"),
            ("jwtsession.event", "store_unavailable"),
            ("jwtsession.store", "RedisStore"),
        ): 1,
    }


async def test_the_guards_cached_read_makes_no_span(otel: Otel) -> None:
    access, refresh, _ = make_configs()  # the token cache on, as by default
    app = make_app(access, refresh, telemetry=otel.telemetry)
    async with client(app) as http:
        access_token, _ = await log_in(http)
        assert (await call(http, "GET", "/me", access=access_token)).status_code == 200
        otel.spans.clear()
        for _ in range(3):
            assert (await call(http, "GET", "/me", access=access_token)).status_code == 200
    assert spans(otel) == []


async def test_no_span_or_metric_holds_a_token_or_a_claim_value(otel: Otel) -> None:
    access, refresh, clock = uncached_configs()
    app = make_app(access, refresh, store=MemoryStore(), telemetry=otel.telemetry)
    tokens: list[str] = []
    async with client(app) as user, client(app, "thief") as thief:
        first_access, first_refresh = await log_in(user, CANARY_SUB)
        tokens += [first_access, first_refresh]
        clock.now += ACCESS_MAX_AGE + 1
        response = await call(user, "GET", "/me", access=first_access, refresh=first_refresh)
        tokens += [value for name, value in response.cookies.items() if name in ("access", "refresh")]
        await call(thief, "GET", "/me", refresh=first_refresh)
        await call(user, "POST", "/logout", access=first_access, refresh=first_refresh)
    secrets = secrets_of(*tokens)
    assert CANARY_SUB in secrets
    recorded = [
        repr((span.name, dict(span.attributes or {}), span.status, list(span.events)))
        for span in otel.spans.get_finished_spans()
    ]
    data = otel.reader.get_metrics_data()
    assert data is not None
    recorded.append(data.to_json())
    assert "reuse_detected" in recorded[-1]
    for text in recorded:
        assert [secret for secret in secrets if secret in text] == []


def test_the_default_providers_are_the_globals_and_a_noop_one_costs_nothing_visible() -> None:
    """Without an SDK, the API's global providers are no-ops: the sessions work as before."""
    telemetry = OpenTelemetry()
    assert telemetry.tracing is telemetry
    trace = telemetry.start_read("access")
    trace.end("valid")
    telemetry.start_write("update", "access").fail(RuntimeError("boom"))


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_an_app_without_the_extra_runs_without_opentelemetry() -> None:
    """With ``opentelemetry`` made unimportable (as if not installed), an app logs in, reads and
    refuses sessions as ever. (Nothing of the package imports it: an import-linter contract
    checks that; a client library such as redis-py may import it on its own when installed.)"""
    result = _python(
        "import sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "from typing import Any\n"
        "from litestar import Litestar, Request, get\n"
        "from litestar.testing import TestClient\n"
        "from litestar_jwtsession import JWSSessionConfig, JWTSessionPlugin, generate_jwk\n"
        "from litestar_jwtsession import requires_session, use_jws_session\n"
        "config = JWSSessionConfig(key=generate_jwk('HS256'), name='access', token_cache_size=0)\n"
        "@get('/login')\n"
        "async def login(request: Request[Any, Any, Any]) -> str:\n"
        "    await (await use_jws_session(request, config)).update({'sub': 'ada'})\n"
        "    return 'ok'\n"
        "@get('/me', guards=[requires_session()])\n"
        "async def me(request: Request[Any, Any, Any]) -> str:\n"
        "    return str(request.auth['sub'])\n"
        "app = Litestar([login, me], plugins=[JWTSessionPlugin(access=config)])\n"
        "with TestClient(app, base_url='https://testserver.local') as client:\n"
        "    client.get('/login')\n"
        "    print(client.get('/me').text)\n"
        "    client.cookies.clear()\n"
        "    client.cookies.set('access', 'not.a.token')\n"
        "    print(client.get('/me').status_code)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ada", "401"]


def test_the_otel_module_without_the_extra_says_which_extra() -> None:
    result = _python(
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if the package were not installed\n"
        "import litestar_jwtsession.otel\n"
    )
    assert result.returncode != 0
    assert "pip install 'litestar-jwtsession[otel]'" in result.stderr


async def test_spans_the_sampler_drops_still_leave_the_metrics() -> None:
    """A dropped span is not made current (nothing can be its child): reads and writes go on,
    no span is exported, and the counter and the histogram still see everything."""
    spans_out = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans_out))
    reader = InMemoryMetricReader()
    telemetry = OpenTelemetry(
        tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    otel = Otel(telemetry, spans_out, reader)
    access, refresh, clock = uncached_configs()
    app = make_app(access, refresh, telemetry=telemetry)
    async with client(app) as http:
        access_token, _ = await log_in(http)
        assert (await call(http, "GET", "/me", access=access_token)).status_code == 200
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(http, "GET", "/me", access=access_token)).status_code == 401
    assert spans(otel) == []
    assert sum(point.count for point in points(otel, "jwtsession.read.duration")) == 5
    assert [point.value for point in points(otel, "jwtsession.events")] == [1]  # the refused token
