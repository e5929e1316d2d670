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


@pytest.fixture(params=["memory", "redis", "valkey"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A ``MemoryStore``, a ``RedisStore`` or a ``ValkeyStore`` (own namespace, emptied
    afterwards) for one test."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "valkey":
        pool = ValkeyBlockingConnectionPool.from_url(
            request.getfixturevalue("valkey_url"), max_connections=32, timeout=20
        )
        valkey_store = ValkeyStore(
            Valkey(connection_pool=pool), namespace=f"test-{uuid.uuid4().hex}", handle_client_shutdown=True
        )
        async with valkey_store:
            try:
                yield valkey_store
            finally:
                await valkey_store.delete_all()
        return
    url = request.getfixturevalue("redis_url")
    # a blocking pool: a burst of requests waits for a connection instead of failing with
    # "Too many connections" (redis-py's default pool holds 100 and refuses the 101st)
    pool = BlockingConnectionPool.from_url(url, max_connections=32, timeout=20)
    redis_store = RedisStore(
        Redis(connection_pool=pool), namespace=f"test-{uuid.uuid4().hex}", handle_client_shutdown=True
    )
    async with redis_store:
        try:
            yield redis_store
        finally:
            await redis_store.delete_all()
