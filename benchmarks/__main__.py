"""``python -m benchmarks``: in-process ASGI benchmark with baselines measured in the same run.

The scenarios take turns, one batch of requests each, and each keeps its fastest batch: on a
shared, noisy machine the fastest batch is the least disturbed one, and taking turns spreads any
slow period over all scenarios alike (see :func:`benchmarks.driver.fastest_batches`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import warnings

from benchmarks.driver import fastest_batches
from benchmarks.scenarios import build_scenarios, forged_pbes2_rejection_ms

RATIOS = [
    # (label, numerator, denominator, target): the handler shapes users write, each against the
    # framework's own floor for that shape (same handler body apart from the session read)
    ("guard only / no-op guard", "guard only HS256", "no-op async guard", 0.90),
    ("request.auth / no-op guard", "request.auth HS256", "no-op async guard", 0.90),
    (
        "NamedDependency[Session] / no-op guard + Provide",
        "NamedDependency[Session] HS256",
        "no-op guard + async Provide",
        0.90,
    ),
    ("use_jws_session / no-op guard", "use_jws_session HS256", "no-op async guard", 0.85),
    ("request.auth HS256 / JWTCookieAuth HS256", "request.auth HS256", "Litestar JWTCookieAuth HS256", 2.5),
    ("request.auth ES256 / JWTCookieAuth ES256", "request.auth ES256", "Litestar JWTCookieAuth ES256", 5.0),
    ("requires_scopes HS256 / no-op guard", "requires_scopes HS256", "no-op async guard", 0.85),
    ("requires_scopes RS256 / no-op guard", "requires_scopes RS256", "no-op async guard", 0.85),
    ("requires_scopes ES256 / no-op guard", "requires_scopes ES256", "no-op async guard", 0.85),
    ("requires_scopes EdDSA / no-op guard", "requires_scopes EdDSA", "no-op async guard", 0.85),
    (
        "requires_scopes HS256 / JWTCookieAuth HS256",
        "requires_scopes HS256",
        "Litestar JWTCookieAuth HS256",
        2.5,
    ),
    (
        "requires_scopes ES256 / JWTCookieAuth ES256",
        "requires_scopes ES256",
        "Litestar JWTCookieAuth ES256",
        5.0,
    ),
    ("route not touching a session / bare route", "route not touching a session", "bare route", 0.9),
]

# --- observability (issue 15): what telemetry costs (benchmarks/scenarios.py: otel_scenarios) ---
RATIOS += [
    # the guard's cached read takes no span: OpenTelemetry configured must cost it nothing
    (
        "request.auth HS256: OTel SDK / no telemetry",
        "request.auth HS256, OTel SDK",
        "request.auth HS256",
        0.95,
    ),
    # a full read with OpenTelemetry but no SDK (the API's no-op providers)
    ("full read HS256: OTel no-op / no telemetry", "full read HS256, OTel no-op", "full read HS256", 0.90),
    # ... and with the SDK recording spans and metrics (informative: the app chose to pay it)
    ("full read HS256: OTel SDK / no telemetry", "full read HS256, OTel SDK", "full read HS256", 0.60),
]
# --- end of observability ---


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="total measuring time")
    parser.add_argument("--batch", type=int, default=50, help="requests per timed batch")
    parser.add_argument("--only", default="", help="comma-separated substrings of scenario names to run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # joserfc/PyJWT security warnings are not what we measure

    scenarios = build_scenarios()
    if args.only:
        wanted = [part.strip() for part in args.only.split(",")]
        scenarios = [s for s in scenarios if any(w in s.name for w in wanted)]
    rates = asyncio.run(fastest_batches([s.probe for s in scenarios], args.seconds, args.batch))
    best = {scenario.name: rate for scenario, rate in zip(scenarios, rates, strict=True)}
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"in-process ASGI, scenarios in turns for {args.seconds:g} s, fastest batch of {args.batch} kept\n")
    print(f"{'scenario':44} {'req/s':>10} {'us/req':>9}")
    for scenario in scenarios:
        rps = best[scenario.name]
        print(f"{scenario.name:44} {rps:10.0f} {1e6 / rps:9.1f}")
    print(f"\n{'ratio':52} {'value':>7} {'target':>8}          {'bound':>5}")
    for label, numerator, denominator, target in RATIOS:
        if numerator not in best or denominator not in best:
            continue
        value = best[numerator] / best[denominator]
        verdict = "ok" if value >= target else "MISSED"
        # the same ratio for the least code that serves the shape (benchmarks/bound.py)
        bound = best.get(f"{numerator} (bound)")
        limit = "" if bound is None else f"{bound / best[denominator]:5.2f}"
        print(f"{label:52} {value:7.2f} {'>= ' + str(target):>8}  {verdict:6}  {limit:>5}")
    if "seed POST /login, both cookies" not in best:
        return
    login_ms = 1000 / best["seed POST /login, both cookies"]
    _limit("seed POST /login, both cookies (ms/request)", login_ms, 2.0)
    _limit("forged PBES2 token, foreign p2c (ms/rejection)", forged_pbes2_rejection_ms(), 0.1)


def _limit(label: str, value: float, limit: float) -> None:
    verdict = "ok" if value <= limit else "MISSED"
    print(f"{label:52} {value:7.3f} {'<= ' + str(limit):>8}  {verdict}")


if __name__ == "__main__":
    main()
