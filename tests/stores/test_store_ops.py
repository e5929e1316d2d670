"""The store seam: one adapter per store type, found by class, and the private attributes of
Litestar's server stores that it relies on (a Litestar release that moves them fails here)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from litestar import Litestar
from litestar.stores.file import FileStore
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.valkey import ValkeyStore
from redis.asyncio import Redis
from valkey.asyncio import Valkey

from litestar_jwtsession import DeviceSessions, JWTSessionPlugin, StoreUnavailableError
from litestar_jwtsession.errors import ConfigurationError
from litestar_jwtsession.integration.store_ops import StoreOps, register_store_ops, store_ops
from tests.stores.common import ACCESS_MAX_AGE, ROUTES, call, client, log_in, make_configs, set_cookies


@pytest.mark.parametrize(
    ("store", "client_attribute"),
    [
        (RedisStore(Redis()), "_redis"),
        (ValkeyStore(Valkey()), "_valkey"),
    ],
)
def test_litestar_server_stores_keep_the_private_attributes_we_use(store: Any, client_attribute: str) -> None:
    ops = store_ops(store, timeout=1)
    assert ops.atomic
    client, make_key = ops._client()  # type: ignore[attr-defined]
    assert client is getattr(store, client_attribute)
    assert "set" in dir(client)
    assert "mget" in dir(client)
    assert make_key("k").endswith("k")
    assert list(inspect.signature(make_key).parameters) == ["key"]


def test_unknown_stores_are_not_atomic_and_rotation_refuses_them(tmp_path: Any) -> None:
    assert not store_ops(FileStore(tmp_path), timeout=1).atomic
    access, refresh, _ = make_configs()
    with pytest.raises(ConfigurationError, match="register_store_ops"):
        JWTSessionPlugin(access=access, refresh=refresh, store=FileStore(tmp_path))


class LockedFileStore(FileStore):
    """A store taught to the library through the seam (one process, so a lock is atomic)."""


class LockedFileOps(StoreOps):
    atomic = True

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        if await self.store.get(key) is not None:
            return False
        await self.store.set(key, value, expires_in=expires_in)
        return True


async def test_a_registered_store_rotates(tmp_path: Any) -> None:
    register_store_ops(LockedFileStore, LockedFileOps)
    access, refresh, clock = make_configs()
    app = Litestar(
        ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh, store=LockedFileStore(tmp_path))]
    )
    async with client(app) as http:
        _, old = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        rotated = await call(http, "GET", "/me", refresh=old)
        assert rotated.status_code == 200
        assert set_cookies(rotated)["refresh"] not in ("", old)


class BrokenStore(MemoryStore):
    async def get(self, key: str, renew_for: Any = None) -> bytes | None:
        raise ConnectionRefusedError("down")


async def test_a_failing_store_raises_the_stable_error() -> None:
    ops = store_ops(BrokenStore(), timeout=1)
    with pytest.raises(StoreUnavailableError) as failed:
        await ops.get("k")
    assert failed.value.code == "ERR_STORE_UNAVAILABLE"


def _increment(raw: bytes | None) -> tuple[bytes | None, int | None, int]:
    count = int(raw or b"0") + 1
    return str(count).encode(), 60, count


async def test_concurrent_updates_of_one_key_are_never_lost(store: Any) -> None:
    """The atomic update device sessions rely on: no increment lost among racing writers
    (two adapters over one store stand for two app instances)."""
    instances = [store_ops(store, timeout=10) for _ in range(2)]
    assert all(ops.atomic_update for ops in instances)
    results = await asyncio.gather(
        *(instances[index % 2].update("counter", _increment) for index in range(40))
    )
    assert sorted(results) == list(range(1, 41))
    assert await store.get("counter") == b"40"
    assert await store.expires_in("counter") in (59, 60)


async def test_an_update_may_leave_the_key_or_delete_it(store: Any) -> None:
    ops = store_ops(store, timeout=10)
    await store.set("kept", b"value", expires_in=30)
    assert await ops.update("kept", lambda raw: (raw, None, "left")) == "left"
    assert await store.get("kept") == b"value"
    assert await store.expires_in("kept") in (29, 30)  # untouched: no write without an expiry
    assert await ops.update("kept", lambda raw: (None, None, raw)) == b"value"
    assert await store.get("kept") is None


async def test_a_registered_store_without_an_update_keeps_no_device_sessions(tmp_path: Any) -> None:
    register_store_ops(LockedFileStore, LockedFileOps)
    access, refresh, _ = make_configs()
    plugin = JWTSessionPlugin(access=access, refresh=refresh, store=LockedFileStore(tmp_path))
    assert plugin.runtime.devices is not None  # on by default, and quietly off for this store
    async with client(Litestar(ROUTES, plugins=[plugin])) as http:
        await log_in(http)  # no device session recorded, no error
    with pytest.raises(ConfigurationError, match="atomic update"):
        JWTSessionPlugin(
            access=access, refresh=refresh, store=LockedFileStore(tmp_path), devices=DeviceSessions()
        )
