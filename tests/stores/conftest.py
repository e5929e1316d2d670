"""Fixtures of the store tests: Redis and Valkey servers, and a fresh store per test on every backend."""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.valkey import ValkeyStore
from redis.asyncio import BlockingConnectionPool, Redis
from valkey.asyncio import BlockingConnectionPool as ValkeyBlockingConnectionPool
from valkey.asyncio import Valkey

from tests.stores.redis_server import redis_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("redis_url", "valkey_url")


@pytest.fixture(scope="session")
def valkey_url() -> str:
    """The URL of a running Valkey server: ``$JWTSESSION_VALKEY_URL`` (the test services script
    starts one); a failure under CI, else a skip."""
    url = os.environ.get("JWTSESSION_VALKEY_URL")
    if not url:
        reason = "needs a Valkey server: set JWTSESSION_VALKEY_URL (make test starts one)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    return url


# the server-backed stores: (connection pool, client, Litestar store) per backend
_SERVER_STORES: dict[str, tuple[Any, Any, Any]] = {
    "redis": (BlockingConnectionPool, Redis, RedisStore),
    "valkey": (ValkeyBlockingConnectionPool, Valkey, ValkeyStore),
}


@asynccontextmanager
async def open_store(kind: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A ``MemoryStore``, a ``RedisStore`` or a ``ValkeyStore`` (own namespace, emptied
    afterwards), by ``kind``."""
    if kind == "memory":
        yield MemoryStore()
        return
    # a blocking pool: a burst of requests waits for a connection instead of failing with
    # "Too many connections" (the clients' default pool holds 100 and refuses the 101st)
    pool_type, client_type, store_type = _SERVER_STORES[kind]
    pool = pool_type.from_url(request.getfixturevalue(f"{kind}_url"), max_connections=32, timeout=20)
    server_store = store_type(
        client_type(connection_pool=pool), namespace=f"test-{uuid.uuid4().hex}", handle_client_shutdown=True
    )
    async with server_store:
        try:
            yield server_store
        finally:
            await server_store.delete_all()


@pytest.fixture(params=["memory", "redis", "valkey"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A fresh store on every backend for one test (see :func:`open_store`)."""
    async with open_store(request.param, request) as each:
        yield each


@pytest.fixture(params=["no store", "memory", "redis", "valkey"])
async def store_or_none(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """``None`` (an app without a store), then a fresh store on every backend."""
    if request.param == "no store":
        yield None
        return
    async with open_store(request.param, request) as each:
        yield each
