"""``python -m benchmarks.http``: the same comparisons over real HTTP (uvicorn + wrk).

Each app runs in its own uvicorn process (one worker) on a free loopback port, loaded by ``wrk``
from Debian's packages (one thread, 32 connections). Rounds go through the apps in a new order each
time and the best round of each is kept.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

# (label, factory, path, cookie name or None)
TARGETS = [
    ("bare route", "bare_app", "/bare", None),
    ("no-op async guard", "bare_app", "/noop", None),
    ("Litestar JWTCookieAuth HS256", "litestar_hs256", "/guarded", "token"),
    ("Litestar JWTCookieAuth ES256", "litestar_es256", "/guarded", "token"),
    ("requires_scopes HS256", "ours_hs256", "/guarded", "access"),
    ("requires_scopes ES256", "ours_es256", "/guarded", "access"),
    ("route not touching a session", "ours_hs256", "/plain", None),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(
    factory: str, *, module: str = "benchmarks.http_apps", env: Mapping[str, str] | None = None
) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", f"{module}:{factory}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"uvicorn serving {factory} did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wrk(url: str, cookie: str | None, seconds: int) -> float:
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"{url}: wrk saw error responses\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package 'wrk'): apt-get install -y wrk")
    best: dict[str, float] = {}
    shuffle = random.Random(0).shuffle  # a new order each round, as in the in-process benchmark
    targets = list(TARGETS)
    for _ in range(args.rounds):
        shuffle(targets)
        for label, factory, path, cookie_name in targets:
            with _server(factory) as base:
                cookie = None
                if cookie_name:
                    with urllib.request.urlopen(f"{base}/token") as response:
                        cookie = f"{cookie_name}={response.read().decode()}"
                _wrk(base + path, cookie, 1)  # warm-up
                best[label] = max(best.get(label, 0.0), _wrk(base + path, cookie, args.seconds))
    print(
        f"over HTTP: uvicorn (1 worker) + wrk -t1 -c32, {args.rounds} rounds x {args.seconds}s, best kept\n"
    )
    print(f"{'scenario':44} {'req/s':>10}")
    for label, *_ in TARGETS:
        print(f"{label:44} {best[label]:10.0f}")
    print()
    for numerator, denominator in [
        ("requires_scopes HS256", "no-op async guard"),
        ("requires_scopes ES256", "no-op async guard"),
        ("requires_scopes HS256", "Litestar JWTCookieAuth HS256"),
        ("requires_scopes ES256", "Litestar JWTCookieAuth ES256"),
        ("route not touching a session", "bare route"),
    ]:
        print(f"{numerator + ' / ' + denominator:72} {best[numerator] / best[denominator]:6.2f}")


if __name__ == "__main__":
    main()
