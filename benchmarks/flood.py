"""``python -m benchmarks.flood``: a legitimate client's latency while forged PBES2 cookies arrive.

The seed's sessions (``examples/seed``'s ``session_configs``: RS256 access session, password-keyed
refresh session at 600000 PBES2 iterations) with the refresh fallback on and ``GET /profile``
behind ``requires_session()`` (:func:`app`, the setup the flood was reported against; the seed
itself re-issues only from ``on_expire``, as upstream) run in one uvicorn worker on a free
loopback port. A legitimate client logs in and then sends ``GET /profile`` with
its cookies at a steady rate; its latencies give p50/p99 per phase. An attacker in another process
sends ``GET /profile`` with only a forged refresh cookie (the configured ``p2c``, a fresh random
``p2s``, random bytes after the header) at a fixed rate, so every forged cookie needs a PBKDF2 run
of its own. Once a second the legitimate side also presents a refresh cookie sealed elsewhere (by
this process, with the server's password), whose first read needs a derivation: it shows how often
such a read is refused during a flood.

Phases: the legitimate client alone, then with 20 and with 200 forged cookies per second. Only
127.0.0.1 is contacted. About 40 s with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import secrets
import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency

from benchmarks.http import _server
from examples.seed.app import DEFAULT_SCOPES, load_keys, session_configs
from litestar_jwtsession import (
    JWESessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    generate_jwk,
    requires_session,
    update_jwe_session,
    update_jws_session,
)

PROFILE = "/profile"
ACCESS, REFRESH = "access_token", "refresh_token"  # the seed's session names
P2C = 600_000
PBES2 = "PBES2-HS256+A128KW"


@dataclass
class Phase:
    label: str
    forged_per_second: int
    latencies_ms: list[float] = field(default_factory=list)
    legit_statuses: Counter[int] = field(default_factory=Counter)
    forged_statuses: Counter[str] = field(default_factory=Counter)
    cold_refresh: Counter[int] = field(default_factory=Counter)


def app() -> Litestar:
    """The server: the seed's configs (keys from its environment variables), a login that sets
    both sessions, and the guarded ``GET /profile``."""
    access, refresh = session_configs(load_keys())

    @post("/login", status_code=200)
    async def login(request: Request[Any, Any, Any]) -> str:
        claims = {"sub": "alice", "scope": list(DEFAULT_SCOPES)}
        await update_jwe_session(request, refresh, claims, replace=True)
        await update_jws_session(request, access, claims, replace=True)
        return "welcome"

    @get(PROFILE, guards=[requires_session()])
    async def profile(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
        return {"userId": access_token.data["sub"]}

    return Litestar([login, profile], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged_refresh_token() -> str:
    """Well-formed, with the server's count and a fresh salt; no password behind it."""
    header = {"alg": PBES2, "enc": "A128GCM", "typ": "JWT", "cty": "application/json"}
    header.update(p2c=P2C, p2s=_b64(secrets.token_bytes(16)))
    segments = [secrets.token_bytes(n) for n in (24, 12, 64, 16)]  # wrapped CEK, iv, ciphertext, tag
    return ".".join([_b64(json.dumps(header).encode()), *map(_b64, segments)])


# --------------------------------------------------------------------------- the attacker


def attack(base: str, per_second: int, seconds: float) -> dict[str, int]:
    """Send forged refresh cookies at a fixed rate (run in a process of its own); status counts."""
    return asyncio.run(_attack(base, per_second, seconds))


async def _attack(base: str, per_second: int, seconds: float) -> dict[str, int]:
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one() -> None:
            try:
                cookie = f"{REFRESH}={forged_refresh_token()}"
                response = await client.get(PROFILE, headers={"cookie": cookie})
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

        start = time.perf_counter()
        tasks = []
        for n in range(int(per_second * seconds)):  # open loop: the rate does not wait for answers
            await asyncio.sleep(max(0.0, start + n / per_second - time.perf_counter()))
            tasks.append(asyncio.ensure_future(one()))
        await asyncio.gather(*tasks)
    return dict(statuses)


# --------------------------------------------------------------------------- the legitimate client


async def _legitimate(
    client: httpx.AsyncClient, phase: Phase, cookies: str, cold: list[str], seconds: float, rate: int
) -> None:
    async def cold_reads() -> None:
        for token in cold:
            response = await client.get(PROFILE, headers={"cookie": f"{REFRESH}={token}"})
            phase.cold_refresh[response.status_code] += 1
            await asyncio.sleep(1.0)

    async def one() -> None:
        sent = time.perf_counter()
        response = await client.get(PROFILE, headers={"cookie": cookies})
        phase.latencies_ms.append((time.perf_counter() - sent) * 1000)
        phase.legit_statuses[response.status_code] += 1

    tasks = [asyncio.ensure_future(cold_reads())]
    start = time.perf_counter()
    for n in range(int(rate * seconds)):  # open loop too: a stalled answer does not delay the next request
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        tasks.append(asyncio.ensure_future(one()))
    await asyncio.gather(*tasks)


def _sealed_elsewhere(password: str, count: int) -> list[str]:
    """Refresh tokens the server never saw: the first read of each needs a derivation."""
    config: JWESessionConfig[dict[str, object]] = JWESessionConfig(key=password, name=REFRESH, max_age="7D")
    now = int(time.time())
    claims = {"sub": "bob", "scope": ["read:profile"], "iat": now, "exp": now + 7 * 86400}
    return [config.encode_token({**claims, "jti": str(uuid.uuid4())}) for _ in range(count)]


async def _run(base: str, phases: list[Phase], cold: list[list[str]], seconds: float, rate: int) -> None:
    spawn = multiprocessing.get_context("spawn")  # a clean interpreter, no inherited loop or threads
    with ProcessPoolExecutor(1, mp_context=spawn) as attacker:
        attacker.submit(time.sleep, 0).result()  # start it before anything is timed
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            login = await client.post("/login")
            login.raise_for_status()
            pairs = (line.split(";", 1)[0] for line in login.headers.get_list("set-cookie"))
            cookies = "; ".join(pairs)  # both sessions, as a browser sends them
            # warm-up, not recorded: the access token enters the verified-token cache, connections open
            await _legitimate(client, Phase("warm-up", 0), cookies, [], 2.0, rate)
            loop = asyncio.get_running_loop()
            for phase, tokens in zip(phases, cold, strict=True):
                flood = None
                if phase.forged_per_second:
                    flood = loop.run_in_executor(attacker, attack, base, phase.forged_per_second, seconds)
                await _legitimate(client, phase, cookies, tokens, seconds, rate)
                if flood is not None:
                    phase.forged_statuses.update(await flood)
                await asyncio.sleep(1.0)  # let the derivation pool drain between phases


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _report(phases: list[Phase], seconds: float, rate: int) -> None:
    defaults = {name: spec.default for name, spec in JWESessionConfig.__dataclass_fields__.items()}
    print(
        f"flood: the seed's sessions behind a guard, over HTTP, uvicorn (1 worker), PBES2 p2c {P2C},\n"
        f"derivation pool of {defaults['pbes2_workers']} workers + {defaults['pbes2_queue']} queued "
        "(the defaults)\n"
        f"legitimate client: GET {PROFILE} with its cookies, {rate}/s, {seconds:g} s per phase\n"
    )
    print(f"{'phase':22} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'legit non-200':>14} {'forged':>30}")
    for phase in phases:
        lat = phase.latencies_ms
        not_ok = sum(count for status, count in phase.legit_statuses.items() if status != 200)
        forged = ", ".join(f"{status}: {count}" for status, count in sorted(phase.forged_statuses.items()))
        print(
            f"{phase.label:22} {_percentile(lat, 0.5):8.1f} {_percentile(lat, 0.99):8.1f} "
            f"{max(lat):8.1f} {not_ok:14d} {forged or '-':>30}"
        )
    print()
    for phase in phases:
        admitted = phase.cold_refresh[200]
        total = sum(phase.cold_refresh.values())
        print(f"{phase.label:22} first read of a refresh cookie sealed elsewhere: {admitted}/{total}")
    server_errors = sum(
        count for phase in phases for status, count in phase.forged_statuses.items() if status.startswith("5")
    )
    p99 = _percentile(phases[1].latencies_ms, 0.99)
    print(f"\n5xx answers to forged cookies: {server_errors} (goal: 0)")
    print(f"legitimate p99 under {phases[1].label.lstrip('+ ')}: {p99:.1f} ms (goal: <= 25 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--rate", type=int, default=50, help="legitimate requests per second")
    args = parser.parse_args()
    phases = [Phase("legitimate alone", 0), Phase("+ 20 forged/s", 20), Phase("+ 200 forged/s", 200)]
    pair = generate_jwk("RS256")
    assert isinstance(pair, KeyPair)
    password = secrets.token_urlsafe(32)
    cold = [_sealed_elsewhere(password, int(args.seconds)) for _ in phases]
    env = {
        "JWTSESSION_ACCESS_PRIVATE_JWK": json.dumps(pair.private_key),
        "JWTSESSION_REFRESH_PASSWORD": password,
    }
    with _server("app", module="benchmarks.flood", env=env) as base:
        asyncio.run(_run(base, phases, cold, args.seconds, args.rate))
    _report(phases, args.seconds, args.rate)


if __name__ == "__main__":
    main()
