"""The store operations revocation and rotation need, per kind of Litestar ``Store``.

Litestar's ``Store`` has ``get``/``set`` but no atomic set-if-absent, no atomic read-modify-write
and no batched read. Rotation needs the first to let exactly one racing request issue a refresh
token's successor; the device sessions (``devices.py``) need the second to keep a subject's index
consistent under concurrent logins and rotations.
:class:`StoreOps` is the one seam between the session stores and a concrete store: an adapter per
store type, found in a registry (:func:`register_store_ops`) by the store's class, so a store this
library does not know can plug in. Adapters for ``MemoryStore`` (one process: an ``asyncio.Lock``),
``RedisStore`` and ``ValkeyStore`` (``SET NX EX``, ``WATCH``/``MULTI`` and ``MGET`` on the server,
atomic across every instance) ship here.

Every operation is bounded by a timeout and turns the store's failures (connection refused, a
hung server, the client's own errors) into :class:`~litestar_jwtsession.errors.StoreUnavailableError`,
which the plugin answers with 503. The first failure of an outage reports one
``store_unavailable`` event (a warning in the log), the first success after it one
``store_recovered`` (an info line): never one per request.
"""

from __future__ import annotations

import asyncio
import importlib
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
if TYPE_CHECKING:
    Change = Callable[[bytes | None], tuple[bytes | None, int | None, T]]
    """``current value -> (new value or None to delete it, its expiry in seconds, a result)``."""

# One lock per event loop serialises a MemoryStore's get-then-set (one process); an asyncio lock
# must not be shared between loops (e.g. those of successive test clients).
_MEMORY_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
_MEMORY_LOCKS = weakref.WeakKeyDictionary()

# What "the store is unavailable" looks like: no connection, or no answer in time. Anything else a
# store raises (a script error, a wrong type) is a bug to see, not an outage to hide behind a 503.
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)
# A connection that failed at once (not a timeout): typically a pooled connection that a restarted
# server closed, which the client notices only on use. One retry takes a fresh connection.
_DROPPED_ERRORS: tuple[type[BaseException], ...] = (ConnectionError,)


def _client_errors(package: str) -> Any:
    """The exceptions module of a store's client package (``redis``, ``valkey``: the extras of the
    same names); ``None`` when it is not installed, and then there are no such stores either."""
    try:
        return importlib.import_module(f"{package}.exceptions")
    except ImportError:  # pragma: no cover - depends on the installed extras
        return None


redis_errors = _client_errors("redis")
valkey_errors = _client_errors("valkey")
for _errors in (redis_errors, valkey_errors):
    if _errors is not None:
        _OUTAGE_ERRORS += (_errors.ConnectionError, _errors.TimeoutError)
        _DROPPED_ERRORS += (_errors.ConnectionError,)
if redis_errors is not None:
    from litestar.stores.redis import RedisStore
else:  # pragma: no cover
    RedisStore = None  # type: ignore[assignment,misc]
if valkey_errors is not None:
    from litestar.stores.valkey import ValkeyStore
else:  # pragma: no cover
    ValkeyStore = None  # type: ignore[assignment,misc]


class StoreOps:
    """A ``Store`` with the operations the session stores use, each bounded and mapped.

    Subclass it for a store type and register the subclass with :func:`register_store_ops`;
    override :meth:`_set_if_absent` (required for rotation), :meth:`_update` (required for device
    sessions) and, for speed, :meth:`_get_many`.
    """

    atomic: ClassVar[bool] = False
    """Whether :meth:`set_if_absent` is atomic (rotation refuses stores without it)."""
    atomic_update: ClassVar[bool] = False
    """Whether :meth:`update` is implemented, atomically (device sessions need it)."""

    __slots__ = ("_down", "store", "telemetry", "timeout")

    def __init__(self, store: Store, *, timeout: float, telemetry: Telemetry | None = None) -> None:
        self.store = store
        self.timeout = timeout
        self.telemetry: Telemetry = telemetry or default_telemetry()
        """Where outages are reported (the app's telemetry)."""
        self._down = False

    async def get(self, key: str) -> bytes | None:
        return await self._bounded(lambda: self.store.get(key))

    async def set(self, key: str, value: str | bytes, expires_in: int | None) -> None:
        await self._bounded(lambda: self.store.set(key, value, expires_in=expires_in))

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return await self._bounded(lambda: self._get_many(keys))

    async def set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        """Set ``key`` only if it holds no (unexpired) value; ``True`` if it was set."""
        return await self._bounded(lambda: self._set_if_absent(key, value, expires_in))

    async def update(self, key: str, change: Change[T]) -> T:
        """Replace the value of ``key`` by ``change(current)`` atomically (a concurrent update of
        the same key is never lost); returns the change's result. ``change`` must be pure: it
        may run more than once. It returns ``current`` itself to leave the key as it is."""
        return await self._bounded(lambda: self._update(key, change))

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        return [await self.store.get(key) for key in keys]

    async def _update(self, key: str, change: Change[T]) -> T:
        raise NotImplementedError(f"no atomic update for {type(self.store).__name__}")

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        raise NotImplementedError(f"no atomic set-if-absent for {type(self.store).__name__}")

    async def _bounded(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` within the timeout (retried once if its connection was dropped);
        an outage becomes :class:`StoreUnavailableError`. Every operation here is idempotent."""
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    result = await operation()
                except _DROPPED_ERRORS:
                    result = await operation()
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

    atomic = atomic_update = True

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        async with _memory_lock():
            if await self.store.get(key) is not None:
                return False
            await self.store.set(key, value, expires_in=expires_in)
            return True

    async def _update(self, key: str, change: Change[T]) -> T:
        async with _memory_lock():
            current = await self.store.get(key)
            value, expires_in, result = change(current)
            if value is current:
                return result
            if value is None:
                await self.store.delete(key)
            else:
                await self.store.set(key, value, expires_in=expires_in)
            return result


def _memory_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _MEMORY_LOCKS.get(loop)
    if lock is None:
        lock = _MEMORY_LOCKS[loop] = asyncio.Lock()
    return lock


class _ServerOps(StoreOps):
    """Redis and Valkey: ``SET NX EX``, an optimistic ``WATCH``/``MULTI`` transaction and ``MGET``
    on the server's own client.

    Litestar's stores expose neither their client nor their key namespacing (both are private
    attributes); :meth:`_client` is the one place that reaches them, and
    ``tests/stores/test_store_ops.py`` fails loudly if a Litestar release moves them.
    """

    atomic = atomic_update = True
    client_attribute: ClassVar[str]
    watch_error: ClassVar[type[Exception]]

    def _client(self) -> tuple[Any, Callable[[str], str]]:
        return getattr(self.store, self.client_attribute), self.store._make_key  # type: ignore[attr-defined]

    async def _set_if_absent(self, key: str, value: bytes, expires_in: int | None) -> bool:
        client, make_key = self._client()
        return bool(await client.set(make_key(key), value, nx=True, ex=expires_in))

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        client, make_key = self._client()
        return list(await client.mget([make_key(key) for key in keys]))

    async def _update(self, key: str, change: Change[T]) -> T:
        client, make_key = self._client()
        name = make_key(key)
        async with client.pipeline(transaction=True) as pipe:
            while True:  # until no other writer touched the key between our read and our write
                try:
                    await pipe.watch(name)
                    current = await pipe.get(name)
                    value, expires_in, result = change(current)
                    if value is current:
                        return result  # leaving the block resets the pipeline (UNWATCH)
                    pipe.multi()
                    if value is None:
                        pipe.delete(name)
                    else:
                        pipe.set(name, value, ex=expires_in)
                    await pipe.execute()
                    return result
                except self.watch_error:
                    continue  # the operation's timeout bounds the retries


class _RedisOps(_ServerOps):
    client_attribute = "_redis"
    if RedisStore is not None:
        watch_error = redis_errors.WatchError


class _ValkeyOps(_ServerOps):
    client_attribute = "_valkey"
    if ValkeyStore is not None:
        watch_error = valkey_errors.WatchError


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
