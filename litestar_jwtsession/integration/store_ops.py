"""The store operations revocation and rotation need, per kind of Litestar ``Store``.

Litestar's ``Store`` has ``get``/``set`` but no atomic set-if-absent and no batched read, and
rotation needs the first to let exactly one racing request issue a refresh token's successor.
:class:`StoreOps` is the one seam between the session stores and a concrete store: an adapter per
store type, found in a registry (:func:`register_store_ops`) by the store's class, so a store this
library does not know can plug in. Adapters for ``MemoryStore`` (one process: an ``asyncio.Lock``),
``RedisStore`` and ``ValkeyStore`` (``SET NX EX`` and ``MGET`` on the server, atomic across every
instance) ship here.

Every operation is bounded by a timeout and turns the store's failures (connection refused, a
hung server, the client's own errors) into :class:`~litestar_jwtsession.errors.StoreUnavailableError`,
which the plugin answers with 503. The first failure of an outage reports one
``store_unavailable`` event (a warning in the log), the first success after it one
``store_recovered`` (an info line): never one per request.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from litestar.stores.memory import MemoryStore

from litestar_jwtsession.errors import StoreUnavailableError
from litestar_jwtsession.session.events import SessionEvent, default_telemetry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar.stores.base import Store

    from litestar_jwtsession.session.events import Telemetry

__all__ = ("StoreOps", "register_store_ops", "store_ops")

T = TypeVar("T")

# One lock per event loop serialises a MemoryStore's get-then-set (one process); an asyncio lock
# must not be shared between loops (e.g. those of successive test clients).
_MEMORY_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
_MEMORY_LOCKS = weakref.WeakKeyDictionary()

# What "the store is unavailable" looks like: no connection, or no answer in time. Anything else a
# store raises (a script error, a wrong type) is a bug to see, not an outage to hide behind a 503.
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)
try:  # the ``redis`` extra
    from litestar.stores.redis import RedisStore
    from redis import exceptions as redis_errors
except ImportError:  # pragma: no cover - without the redis package there are no RedisStores
    RedisStore = None  # type: ignore[assignment,misc]
else:
    _OUTAGE_ERRORS += (redis_errors.ConnectionError, redis_errors.TimeoutError)
try:  # the ``valkey`` extra
    from litestar.stores.valkey import ValkeyStore
    from valkey import exceptions as valkey_errors
except ImportError:  # pragma: no cover - without the valkey package there are no ValkeyStores
    ValkeyStore = None  # type: ignore[assignment,misc]
else:
    _OUTAGE_ERRORS += (valkey_errors.ConnectionError, valkey_errors.TimeoutError)


class StoreOps:
    """A ``Store`` with the operations the session stores use, each bounded and mapped.

    Subclass it for a store type and register the subclass with :func:`register_store_ops`;
    override :meth:`_set_if_absent` (required for rotation) and, for speed, :meth:`_get_many`.
    """

    atomic: ClassVar[bool] = False
    """Whether :meth:`set_if_absent` is atomic (rotation refuses stores without it)."""

    __slots__ = ("_down", "store", "telemetry", "timeout")

    def __init__(self, store: Store, *, timeout: float, telemetry: Telemetry | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self.telemetry: Telemetry = telemetry or default_telemetry()
        """Where outages are reported (the app's telemetry)."""
        self._down = False

    async def get(self, key: str) -> bytes | None:
        return await self._bounded(self.store.get(key))

    async def set(self, key: str, value: str | bytes, expires_in: int | None) -> None:
        await self._bounded(self.store.set(key, value, expires_in=expires_in))

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return await self._bounded(self._get_many(keys))

    async def set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        """Set ``key`` only if it holds no (unexpired) value; ``True`` if it was set."""
        return await self._bounded(self._set_if_absent(key, value, expires_in))

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        return [await self.store.get(key) for key in keys]

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        raise NotImplementedError(f"no atomic set-if-absent for {type(self.store).__name__}")

    async def _bounded(self, operation: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                result = await operation
        except _OUTAGE_ERRORS as exc:
            if not self._down:
                self._down = True
                self.telemetry.emit(
                    SessionEvent.STORE_UNAVAILABLE, store=type(self.store).__name__, error=type(exc).__name__
                )
            raise StoreUnavailableError(f"session store unavailable: {type(exc).__name__}") from exc
        if self._down:
            self._down = False
            self.telemetry.emit(SessionEvent.STORE_RECOVERED, store=type(self.store).__name__)
        return result


class _MemoryOps(StoreOps):
    """One process: the get-then-set runs under the running event loop's lock."""

    atomic = True

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        loop = asyncio.get_running_loop()
        lock = _MEMORY_LOCKS.get(loop)
        if lock is None:
            lock = _MEMORY_LOCKS[loop] = asyncio.Lock()
        async with lock:
            if await self.store.get(key) is not None:
                return False
            await self.store.set(key, value, expires_in=expires_in)
            return True


class _ServerOps(StoreOps):
    """Redis and Valkey: ``SET NX EX`` and ``MGET`` on the server's own client.

    Litestar's stores expose neither their client nor their key namespacing (both are private
    attributes); :meth:`_client` is the one place that reaches them, and
    ``tests/stores/test_store_ops.py`` fails loudly if a Litestar release moves them.
    """

    atomic = True
    client_attribute: ClassVar[str]

    def _client(self) -> tuple[Any, Callable[[str], str]]:
        return getattr(self.store, self.client_attribute), self.store._make_key  # type: ignore[attr-defined]

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        client, make_key = self._client()
        return bool(await client.set(make_key(key), value, nx=True, ex=expires_in))

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        client, make_key = self._client()
        return list(await client.mget([make_key(key) for key in keys]))


class _RedisOps(_ServerOps):
    client_attribute = "_redis"


class _ValkeyOps(_ServerOps):
    client_attribute = "_valkey"


_REGISTRY: dict[type[Any], type[StoreOps]] = {MemoryStore: _MemoryOps}
if RedisStore is not None:
    _REGISTRY[RedisStore] = _RedisOps
if ValkeyStore is not None:
    _REGISTRY[ValkeyStore] = _ValkeyOps


def register_store_ops(store_type: type[Store], ops: type[StoreOps]) -> None:
    """Teach the session stores a ``Store`` type: ``ops`` implements its atomic operations."""
    _REGISTRY[store_type] = ops


def store_ops(store: Store, *, timeout: float, telemetry: Telemetry | None = None) -> StoreOps:
    """The operations of ``store`` (by its class, the nearest registered base class first);
    a store of unknown type gets the plain, non-atomic :class:`StoreOps`."""
    for cls in type(store).__mro__:
        ops = _REGISTRY.get(cls)
        if ops is not None:
            return ops(store, timeout=timeout, telemetry=telemetry)
    return StoreOps(store, timeout=timeout, telemetry=telemetry)
