"""A Redis server for the store tests: ``$JWTSESSION_REDIS_URL``, or one started here.

``.ci/run`` starts a server and exports ``JWTSESSION_REDIS_URL``. Without it, a ``redis-server``
on PATH is started on a free loopback port for the test session (no persistence) and stopped
afterwards. Without either the Redis tests skip, except under CI (``$CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("free_port", "pings", "redis_server_binary", "redis_url")


def redis_server_binary() -> str:
    """A ``redis-server`` to start: ``$JWTSESSION_REDIS_SERVER`` or the one on PATH (tests that
    must stop and restart a server of their own need one); a failure under CI, else a skip."""
    server = os.environ.get("JWTSESSION_REDIS_SERVER") or shutil.which("redis-server")
    if server is None:
        reason = "needs a redis-server binary: set JWTSESSION_REDIS_SERVER or put redis-server on PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a running Redis server (see the module docstring)."""
    url = os.environ.get("JWTSESSION_REDIS_URL")
    if url:
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        reason = "needs a Redis server: set JWTSESSION_REDIS_URL or put redis-server on PATH"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not pings(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if process.poll() is None:
            process.kill()
            process.wait()
