"""Fixtures of the store tests: a Redis server, and a fresh store per test on every backend."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import BlockingConnectionPool, Redis

from tests.stores.redis_server import redis_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("redis_url",)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A ``MemoryStore`` or a ``RedisStore`` (own namespace, emptied afterwards) for one test."""
    if request.param == "memory":
        yield MemoryStore()
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
