"""Fixtures of the store tests: Redis and Valkey servers, and a fresh store per test on every backend."""

from __future__ import annotations

import os
import uuid
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


@pytest.fixture(params=["memory", "redis", "valkey"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A ``MemoryStore``, a ``RedisStore`` or a ``ValkeyStore`` (own namespace, emptied
    afterwards) for one test."""
    if request.param == "memory":
        yield MemoryStore()
        return
    # a blocking pool: a burst of requests waits for a connection instead of failing with
    # "Too many connections" (the clients' default pool holds 100 and refuses the 101st)
    pool_type, client_type, store_type = _SERVER_STORES[request.param]
    pool = pool_type.from_url(request.getfixturevalue(f"{request.param}_url"), max_connections=32, timeout=20)
    server_store = store_type(
        client_type(connection_pool=pool), namespace=f"test-{uuid.uuid4().hex}", handle_client_shutdown=True
    )
    async with server_store:
        try:
            yield server_store
        finally:
            await server_store.delete_all()
