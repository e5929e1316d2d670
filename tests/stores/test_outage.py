"""A store outage is a 503, never a 500, and never logs anyone out.

Each test runs its own ``redis-server`` process so it can stop it, freeze it (``SIGSTOP``: the
connections hang) and restart it on the same port in the middle of the test.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest
from litestar.stores.redis import RedisStore
from redis.asyncio import BlockingConnectionPool, Redis

from litestar_jwtsession.integration.store_ops import store_ops
from tests.stores.common import ACCESS_MAX_AGE, call, client, log_in, make_app, make_configs, set_cookies
from tests.stores.redis_server import free_port, pings, redis_server_binary

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

STORE_TIMEOUT = 0.3


class RedisProcess:
    """One redis-server on a fixed loopback port that a test can stop, freeze and restart."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not pings(self.port):
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer PING"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def server() -> Iterator[RedisProcess]:
    process = RedisProcess(redis_server_binary())
    process.start()
    try:
        yield process
    finally:
        if process.process is not None:
            process.thaw()
        process.stop()


@pytest.fixture
async def store(server: RedisProcess) -> AsyncIterator[RedisStore]:
    # the client's own waits are bounded too, as the docs recommend
    redis = Redis.from_url(server.url, socket_timeout=1.0, socket_connect_timeout=1.0)
    redis_store = RedisStore(redis, namespace="outage", handle_client_shutdown=True)
    async with redis_store:
        yield redis_store


def _app(store: RedisStore, **options: Any) -> tuple[Any, Any, Any]:
    access, refresh, clock = make_configs()
    return make_app(access, refresh, store=store, store_timeout=STORE_TIMEOUT, **options), clock, access


async def _eventually_ok(http: Any, method: str, path: str, **cookies: str) -> Any:
    """The first 2xx answer within a few tries (a client reconnects on its next command); every
    try before it is a 503 that changes no cookie."""
    for _ in range(20):
        response = await call(http, method, path, **cookies)
        if response.status_code < 300:
            return response
        assert response.status_code == 503
        assert set_cookies(response) == {}
        await asyncio.sleep(0.05)
    pytest.fail(f"{method} {path} never answered 2xx once the store was back")


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "Session store unavailable"
    assert response.headers.get_list("set-cookie") == []  # no cookie expired, none rewritten


class Records(logging.Handler):
    """Collects the library logger's records (Litestar's logging setup replaces the root handlers
    at startup, and pytest's capture with them)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def library_log() -> Iterator[Records]:
    logger = logging.getLogger("litestar_jwtsession")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_a_stopped_store_is_a_503_and_the_same_client_is_served_once_it_is_back(
    server: RedisProcess, store: RedisStore, library_log: Records
) -> None:
    app, _, _ = _app(store)
    async with client(app) as http:
        access, refresh = await log_in(http)
        assert (await call(http, "GET", "/me", access=access)).status_code == 200
        server.stop()
        for _ in range(5):
            _assert_unavailable(await call(http, "GET", "/me", access=access, refresh=refresh))
        warnings = [r for r in library_log.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # one per outage, not one per request
        assert "unavailable" in warnings[0].getMessage()
        assert all(r.exc_info is None for r in library_log.records)  # no traceback
        server.start()
        response = await _eventually_ok(http, "GET", "/me", access=access, refresh=refresh)
        assert response.json()["sub"] == "ada"
        assert any("reachable again" in r.getMessage() for r in library_log.records)


async def test_a_frozen_store_costs_a_bounded_wait_then_a_503(
    server: RedisProcess, store: RedisStore
) -> None:
    app, _, _ = _app(store)
    async with client(app) as http:
        access, refresh = await log_in(http)
        server.freeze()
        # the store timeout bounds the wait; the hard limit here only keeps a broken build from hanging
        response = await asyncio.wait_for(call(http, "GET", "/me", access=access, refresh=refresh), 30)
        _assert_unavailable(response)
        server.thaw()
        assert (await _eventually_ok(http, "GET", "/me", access=access)).json()["sub"] == "ada"


async def test_the_refresh_fallback_during_an_outage_keeps_both_cookies(
    server: RedisProcess, store: RedisStore
) -> None:
    app, clock, _ = _app(store)
    async with client(app) as http:
        _, refresh = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1  # the browser dropped the lapsed access cookie
        server.stop()
        _assert_unavailable(await call(http, "GET", "/me", refresh=refresh))
        server.start()
        response = await _eventually_ok(http, "GET", "/me", refresh=refresh)
        assert set(set_cookies(response)) == {"access", "refresh"}  # refreshed and rotated, not logged out


async def test_logout_and_revoke_subject_during_an_outage_fail_closed(
    server: RedisProcess, store: RedisStore
) -> None:
    app, _, _ = _app(store)
    async with client(app) as http:
        access, refresh = await log_in(http)
        server.stop()
        _assert_unavailable(await call(http, "POST", "/logout", access=access, refresh=refresh))
        _assert_unavailable(await call(http, "POST", "/logout-everywhere", access=access))
        server.start()
        out = await _eventually_ok(http, "POST", "/logout", access=access, refresh=refresh)
        assert set_cookies(out) == {"access": "", "refresh": ""}
        assert (await call(http, "GET", "/me", access=access)).status_code == 401  # revoked now


async def test_the_availability_policy_skips_revocation_checks_but_not_rotation(
    server: RedisProcess, store: RedisStore
) -> None:
    app, clock, _ = _app(store, revocation_on_outage="allow")
    async with client(app) as http:
        access, refresh = await log_in(http)
        server.stop()
        served = await call(http, "GET", "/me", access=access)
        assert served.status_code == 200  # verified cryptographically, not checked for revocation
        assert served.json()["sub"] == "ada"
        clock.now += ACCESS_MAX_AGE + 1
        _assert_unavailable(await call(http, "GET", "/me", refresh=refresh))  # rotation fails closed


async def test_racing_refreshes_after_a_store_restart_share_one_successor(server: RedisProcess) -> None:
    """The multi-tab race (every tab presents the same refresh token at once, over two instances)
    still yields one successor once the store has restarted under the running apps."""
    # as in production: a blocking pool for bursts, the default store timeout
    pool = BlockingConnectionPool.from_url(server.url, max_connections=32, timeout=20, socket_timeout=5.0)
    store = RedisStore(Redis(connection_pool=pool), namespace="race", handle_client_shutdown=True)
    access, refresh, clock = make_configs()
    apps = [make_app(access, refresh, store=store) for _ in range(2)]
    async with store, client(apps[0]) as one, client(apps[1]) as two:
        _, old_refresh = await log_in(one)
        server.stop()
        server.start()  # empty: no persistence; the pools reconnect on their own
        clock.now += ACCESS_MAX_AGE + 1
        responses = await asyncio.gather(
            *(call((one, two)[index % 2], "GET", "/me", refresh=old_refresh) for index in range(100))
        )
        assert {response.status_code for response in responses} == {200}
        assert len({set_cookies(response)["refresh"] for response in responses}) == 1


async def test_connections_a_restart_closed_cost_no_request_a_503(server: RedisProcess) -> None:
    """A restart closes every pooled connection, which the client notices only on use: the
    operation is retried once on a fresh connection instead of failing."""
    pool = BlockingConnectionPool.from_url(server.url, max_connections=4, timeout=20)
    store = RedisStore(Redis(connection_pool=pool), namespace="restart", handle_client_shutdown=True)
    ops = store_ops(store, timeout=2)
    async with store:
        await asyncio.gather(*(ops.set(f"k{index}", b"1", 60) for index in range(4)))  # 4 pooled
        server.stop()
        server.start()  # empty again
        assert await asyncio.gather(*(ops.get(f"k{index}") for index in range(4))) == [None] * 4
        assert await ops.update("k0", lambda raw: (b"2", 60, raw)) is None
