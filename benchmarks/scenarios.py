"""The benchmark scenarios: baselines (bare route, no-op guard, Litestar's JWTCookieAuth) and ours."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar, Request, get
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.security.jwt import JWTCookieAuth, Token

from benchmarks.bound import SHAPE_PATHS, bound_shapes
from benchmarks.driver import Probe, fetch, request_once
from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    generate_jwk,
    requires_scopes,
    requires_session,
    use_jwe_session,
    use_jws_session,
)

__all__ = ("Scenario", "build_scenarios")

CLAIMS = {"sub": "user-1", "scope": ["read", "write"], "name": "Ada Lovelace"}


@dataclass
class Scenario:
    name: str
    probe: Probe
    group: str


async def _noop_guard(connection: Any, handler: Any) -> None:
    return None


async def _handler(request: Request[Any, Any, Any]) -> str:
    return "ok"


async def _trivial_dependency(request: Request[Any, Any, Any]) -> str:
    return "value"


def _bare_app() -> Litestar:
    @get("/bare")
    async def bare() -> str:
        return "ok"

    @get("/noop-dependency", guards=[_noop_guard], dependencies={"value": Provide(_trivial_dependency)})
    async def noop_dependency(value: str) -> str:
        return value

    noop = get("/noop", guards=[_noop_guard])(_handler)
    return Litestar([bare, noop, noop_dependency], openapi_config=None)


def litestar_keys(alg: str) -> tuple[str, str]:
    """(signing key, verification key) for Litestar's JWT auth: a secret, or an ES256 PEM pair."""
    if alg == "HS256":
        return "s" * 32, "s" * 32
    private = ec.generate_private_key(ec.SECP256R1())
    signing = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    verifying = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return signing, verifying


def _litestar_jwt(alg: str) -> tuple[Probe, str]:
    secret, verify_secret = litestar_keys(alg)

    async def retrieve_user(token: Token, connection: Any) -> dict[str, Any]:
        return {"id": token.sub}

    auth = JWTCookieAuth[dict[str, Any], Token](
        retrieve_user_handler=retrieve_user, token_secret=verify_secret, algorithm=alg
    )
    token = Token(exp=in_one_hour(), sub="user-1", extras={"scope": ["read"]}).encode(secret, alg)

    @get("/guarded")
    async def reads_user(request: Request[Any, Any, Any]) -> str:
        return str(request.user["id"])

    app = Litestar([reads_user], on_app_init=[auth.on_app_init], openapi_config=None)
    return Probe(app, "/guarded", headers=[("cookie", f"token={token}")]), token


def in_one_hour() -> Any:
    from datetime import datetime, timedelta

    return datetime.now(tz=UTC) + timedelta(hours=1)


def _ours(alg: str, *, cache: bool = True) -> Probe:
    key = generate_jwk(alg)
    access = JWSSessionConfig(key=key, name="access", token_cache_size=4096 if cache else 0)
    route = get("/guarded", guards=[requires_scopes("read")])(_handler)

    @get("/plain")
    async def plain() -> str:
        return "ok"

    login = _login_route(access)

    app = Litestar([route, plain, login], plugins=[JWTSessionPlugin(access=access)], openapi_config=None)
    token = _log_in(app)
    return Probe(app, "/guarded", headers=[("cookie", f"access={token}")])


def _login_route(config: JWSSessionConfig[Any] | JWESessionConfig[Any]) -> HTTPRouteHandler:
    """``GET /login``: writes ``CLAIMS`` into ``config``'s session and answers its token."""

    use = use_jwe_session if isinstance(config, JWESessionConfig) else use_jws_session

    @get("/login")
    async def login(request: Request[Any, Any, Any]) -> str:
        session = await use(request, config)  # type: ignore[arg-type]
        await session.update(CLAIMS)
        return str(session.token)

    return login


def _log_in(app: Litestar) -> str:
    """The token the app's ``GET /login`` (see :func:`_login_route`) answers."""
    return asyncio.run(fetch(Probe(app, "/login")))[1].decode()


def _handler_shapes(alg: str) -> dict[str, Probe]:
    """One app, one route per way a handler reads its session, all behind ``requires_session``."""
    access = JWSSessionConfig(key=generate_jwk(alg), name="access")
    guard = [requires_session()]

    @get("/guard-only", guards=guard)
    async def guard_only(request: Request[Any, Any, Any]) -> str:
        return "ok"

    @get("/auth", guards=guard)
    async def reads_auth(request: Request[Any, Any, Any]) -> str:
        return str(request.auth["sub"])

    @get("/injected", guards=guard)
    async def injected(access: NamedDependency[Session[Any]]) -> str:
        return str(access.data["sub"])

    @get("/functional", guards=guard)
    async def functional(request: Request[Any, Any, Any]) -> str:
        session = await use_jws_session(request, access)
        return str(session.data["sub"])

    login = _login_route(access)

    routes = [guard_only, reads_auth, injected, functional, login]
    app = Litestar(routes, plugins=[JWTSessionPlugin(access=access)], openapi_config=None)
    cookie = [("cookie", "access=" + _log_in(app))]
    return {path: Probe(app, path, headers=cookie) for path in SHAPE_PATHS}


# The scenario name of each handler shape (the routes of _handler_shapes and of benchmarks/bound.py)
SHAPES = dict(
    zip(
        ("guard only", "request.auth", "NamedDependency[Session]", "use_jws_session"),
        SHAPE_PATHS,
        strict=True,
    )
)


def _untouched() -> Probe:
    access = JWSSessionConfig(key=generate_jwk("HS256"), name="access")

    @get("/plain")
    async def plain() -> str:
        return "ok"

    app = Litestar([plain], plugins=[JWTSessionPlugin(access=access)], openapi_config=None)
    return Probe(app, "/plain", headers=[("cookie", "access=whatever")])


def _refresh_path() -> Probe:
    """Every request carries only a valid refresh cookie: the access session is re-issued each time."""
    access = JWSSessionConfig(key=generate_jwk("HS256"), name="access", max_age="15m")
    refresh = JWESessionConfig(key=generate_jwk("A256KW"), name="refresh", max_age="7D")
    route = get("/guarded", guards=[requires_scopes("read")])(_handler)

    login = _login_route(refresh)

    app = Litestar(
        [route, login], plugins=[JWTSessionPlugin(access=access, refresh=refresh)], openapi_config=None
    )
    token = _log_in(app)
    return Probe(app, "/guarded", headers=[("cookie", f"refresh={token}")])


def _seed_login() -> Probe:
    """The seed's POST /login for a caller holding both cookies (password refresh key, p2c 600000)."""
    from examples.seed.app import create_app

    pair = generate_jwk("RS256")
    assert isinstance(pair, KeyPair)
    app = create_app(access_key=pair, refresh_password="correct horse battery staple")
    first = Probe(
        app,
        "/login",
        method="POST",
        headers=[("content-type", "application/json")],
        body=b'{"username": "ada", "password": "x"}',
        expect=201,
    )
    _, headers = asyncio.run(request_once(first))
    cookies = "; ".join(value.decode().split(";", 1)[0] for name, value in headers if name == b"set-cookie")
    return Probe(app, "/login", method="POST", headers=[("cookie", cookies)], expect=200)


def build_scenarios() -> list[Scenario]:
    bare_app = _bare_app()
    scenarios = [
        Scenario("bare route", Probe(bare_app, "/bare"), "baseline"),
        Scenario("no-op async guard", Probe(bare_app, "/noop"), "baseline"),
        Scenario("no-op guard + async Provide", Probe(bare_app, "/noop-dependency"), "baseline"),
    ]
    for alg in ("HS256", "ES256"):
        probe, _ = _litestar_jwt(alg)
        scenarios.append(Scenario(f"Litestar JWTCookieAuth {alg}", probe, "baseline"))
    # on a cached token the algorithm costs nothing: two shapes suffice to show it for ES256
    for alg, names in (("HS256", tuple(SHAPES)), ("ES256", ("guard only", "request.auth"))):
        shapes = _handler_shapes(alg)
        scenarios += [Scenario(f"{name} {alg}", shapes[SHAPES[name]], "ours") for name in names]
    # the same shapes served by the least code that serves them in this design (a guard, an async
    # dependency, a before-send hook): our ratios are printed beside the bound's
    bound = bound_shapes(CLAIMS)
    scenarios += [Scenario(f"{name} HS256 (bound)", bound[path], "bound") for name, path in SHAPES.items()]
    for alg in ("HS256", "RS256", "ES256", "EdDSA"):
        scenarios.append(Scenario(f"requires_scopes {alg}", _ours(alg), "ours"))
    for alg in ("HS256", "ES256"):  # every request pays joserfc: what a first-seen token costs
        scenarios.append(Scenario(f"requires_scopes {alg}, token cache off", _ours(alg, cache=False), "ours"))
    scenarios.append(Scenario("route not touching a session", _untouched(), "ours"))
    scenarios.append(Scenario("refresh path (HS256 + A256KW)", _refresh_path(), "ours"))
    scenarios.append(Scenario("seed POST /login, both cookies", _seed_login(), "ours"))
    scenarios += otel_scenarios()  # observability (issue 15): see the block below
    return scenarios


# --- observability (issue 15): telemetry's cost -------------------------------------------------
# The guard's cached read must not pay for telemetry at all, even with OpenTelemetry configured;
# a full read (token cache off) pays one None check without telemetry, and a span, a histogram
# point and the context switch with it. "OTel no-op" is the API's no-op providers (an app with
# the extra but no SDK); "OTel SDK" records spans (no exporter: export is the app's cost) and
# aggregates metrics in memory.


def _otel_variants() -> dict[str, Any]:
    """``{suffix: telemetry}``: none, OpenTelemetry on no-op providers, on the SDK."""
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider

        from litestar_jwtsession.otel import OpenTelemetry
    except ImportError:  # without the otel extra and the SDK: only the plain scenarios
        return {"": None}
    noop = OpenTelemetry(
        tracer_provider=trace.NoOpTracerProvider(), meter_provider=metrics.NoOpMeterProvider()
    )
    sdk = OpenTelemetry(
        tracer_provider=TracerProvider(),
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
    )
    return {"": None, ", OTel no-op": noop, ", OTel SDK": sdk}


def _otel_probe(telemetry: Any, *, cache: bool) -> Probe:
    """``request.auth`` behind ``requires_session`` (the handler shape of "request.auth HS256")."""
    access = JWSSessionConfig(key=generate_jwk("HS256"), name="access", token_cache_size=4096 if cache else 0)

    @get("/auth", guards=[requires_session()])
    async def reads_auth(request: Request[Any, Any, Any]) -> str:
        return str(request.auth["sub"])

    login = _login_route(access)

    plugin = JWTSessionPlugin(access=access, telemetry=telemetry)
    app = Litestar([reads_auth, login], plugins=[plugin], openapi_config=None)
    token = _log_in(app)
    return Probe(app, "/auth", headers=[("cookie", f"access={token}")])


def otel_scenarios() -> list[Scenario]:
    """``request.auth HS256, OTel SDK`` (against ``request.auth HS256``) and ``full read HS256``
    without telemetry, with no-op providers and with the SDK."""
    variants = _otel_variants()
    scenarios = []
    if ", OTel SDK" in variants:
        probe = _otel_probe(variants[", OTel SDK"], cache=True)
        scenarios.append(Scenario("request.auth HS256, OTel SDK", probe, "ours"))
    for suffix, telemetry in variants.items():
        scenarios.append(Scenario(f"full read HS256{suffix}", _otel_probe(telemetry, cache=False), "ours"))
    return scenarios


# --- end of observability -------------------------------------------------------------------------


def forged_pbes2_rejection_ms(repeats: int = 2000) -> float:
    """Mean time to reject a PBES2 token whose p2c differs from the configured count."""
    import base64
    import json

    from litestar_jwtsession import SessionError

    config = JWESessionConfig(key="correct horse battery staple", name="refresh")
    header = {
        "alg": "PBES2-HS256+A128KW",
        "enc": "A128GCM",
        "typ": "JWT",
        "p2c": 300000,
        "p2s": "AAAAAAAAAAAAAAAAAAAAAA",
    }

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    forged = ".".join(
        [b64(json.dumps(header).encode()), b64(b"k" * 24), b64(b"i" * 12), b64(b"c" * 64), b64(b"t" * 16)]
    )
    start = time.perf_counter()
    for _ in range(repeats):
        try:
            config.codec.decode(forged, now=time.time())
        except SessionError:
            pass
        else:  # pragma: no cover
            raise AssertionError("forged token accepted")
    return (time.perf_counter() - start) / repeats * 1000
