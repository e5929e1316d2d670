"""A minimal in-process ASGI driver: no network, no test client, just the app and a loop."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar

__all__ = ("Probe", "check", "fastest_batches", "fetch", "request_once")


@dataclass
class Probe:
    """One request shape to replay."""

    app: Litestar
    path: str
    method: str = "GET"
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    expect: int = 200
    scope: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": "https",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers],
            "client": ("127.0.0.1", 40000),
            "server": ("testserver", 443),
            "state": {},
        }


async def request_once(probe: Probe) -> tuple[int, list[tuple[bytes, bytes]]]:
    sent = False
    status = 0
    headers: list[tuple[bytes, bytes]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": probe.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", ()))

    # a fresh scope per request, as a server gives one: the app stores per-request state in it
    scope = dict(probe.scope)
    scope["state"] = {}
    await probe.app(scope, receive, send)  # type: ignore[arg-type]
    return status, headers


async def fetch(probe: Probe) -> tuple[int, bytes]:
    """Send ``probe`` once (untimed): its status and body."""
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": probe.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await probe.app({**probe.scope, "state": {}}, receive, send)  # type: ignore[arg-type]
    return status, b"".join(chunks)


async def check(probe: Probe) -> None:
    """Send ``probe`` once and fail unless it gets the expected status."""
    status, _ = await request_once(probe)
    if status != probe.expect:
        raise RuntimeError(f"{probe.method} {probe.path}: expected {probe.expect}, got {status}")


async def fastest_batches(
    probes: Sequence[Probe], seconds: float, batch: int = 50, warmup: int = 50
) -> list[float]:
    """Requests per second of each probe in its fastest batch of ``batch`` requests.

    The probes take turns, one batch each and in a new order every round, for about ``seconds`` in
    all, so a slow period of a shared machine falls on all of them alike; the fastest batch of
    each is the least disturbed one (the minimum of repeated timings, as ``timeit`` advises). The
    ratios between probes are what is reported, and every probe is measured the same way.
    """
    for probe in probes:
        await check(probe)
        for _ in range(batch):  # warm caches and the memo of the cookie header
            await request_once(probe)
    best = [0.0] * len(probes)
    clock = time.perf_counter
    deadline = clock() + seconds
    order = list(range(len(probes)))
    shuffle = random.Random(0).shuffle  # a new order each turn: no scenario always follows the same one
    while clock() < deadline:
        shuffle(order)
        for index in order:
            probe = probes[index]
            # untimed requests first: the batch before, of another scenario, leaves caches and
            # the allocator in its own state, which costs the first requests of the next one
            for _ in range(warmup):
                await request_once(probe)
            start = clock()
            for _ in range(batch):
                await request_once(probe)
            rate = batch / (clock() - start)
            if rate > best[index]:
                best[index] = rate
    return best
