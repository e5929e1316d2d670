"""PBES2 key derivation off the event loop: bounded, shared, and remembered only when it worked.

A password-keyed JWE (PBES2) costs one PBKDF2 run per token: with unjwt's 600000 iterations about
80-100 ms of CPU. Run on the event loop, a few forged tokens a second, each with a fresh ``p2s``,
stall every request of the process. So a caller on an event loop goes through a
:class:`DerivationPool`:

- :meth:`DerivationPool.run` calls the decode (or seal) with :func:`offering` in force: the PBES2
  model then derives nothing itself and raises :class:`DerivationNeeded` instead; the pool derives
  that key in one of its threads (cryptography's PBKDF2 releases the GIL, so the loop keeps
  serving) and calls again with the key offered;
- those threads run at a lower priority (on Linux, where a nice value belongs to one thread), so
  the event loop's thread wins the CPU over PBKDF2 when cores are scarce;
- at most ``workers + queue`` derivations are admitted; past that a read is refused with
  ``ERR_JWE_DERIVATION_BUSY`` rather than queued without end (a seal is never refused: it is the
  application's own work);
- concurrent requests carrying the same token share one derivation;
- a derived key-encryption key (KEK) enters :data:`KEK_CACHE` only once it unwrapped a token's
  content key (AES key wrap has an integrity check) or sealed one of ours, so forged tokens can
  neither fill nor evict it, and this process reads its own tokens back without deriving.

Synchronous callers (``JWECodec.decode`` and ``seal`` outside :func:`offering`, the CLI) still
derive in their own thread, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from litestar_jwtsession.errors import ErrorCode, SessionError, check_count

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = (
    "KEK_CACHE",
    "DerivationNeeded",
    "DerivationPool",
    "KeyCache",
    "KekId",
    "kek_id",
    "key_encryption_key",
    "offering",
)

T = TypeVar("T")

KekId = tuple[str, bytes, bytes, int]
"""What a derived key depends on: (algorithm, SHA-256 of the password, p2s, p2c)."""


def kek_id(alg: str, password: bytes, p2s: bytes, p2c: int) -> KekId:
    # a digest: two configs with different passwords never share a key, and no password is kept
    return (alg, hashlib.sha256(password).digest(), p2s, p2c)


class KeyCache:
    """Key-encryption keys that opened or sealed a token, bounded; the oldest goes first."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[KekId, bytes] = {}

    def get(self, kid: KekId) -> bytes | None:
        return self._entries.get(kid)

    def put(self, kid: KekId, kek: bytes) -> None:
        entries = self._entries
        if kid not in entries and len(entries) >= self.size:
            with suppress(RuntimeError, StopIteration):  # another thread changed it meanwhile: no harm
                entries.pop(next(iter(entries)), None)
        entries[kid] = kek

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, kid: object) -> bool:
        return kid in self._entries

    def __len__(self) -> int:
        return len(self._entries)


KEK_CACHE = KeyCache(4096)
"""One per process: a key depends only on its :data:`KekId`. Sized like the verified-token cache."""

# Keys a DerivationPool derived for the call in progress; None: the caller may derive inline.
_OFFERED: ContextVar[Mapping[KekId, bytes] | None] = ContextVar("litestar_jwtsession_pbes2", default=None)


@contextmanager
def offering(keys: Mapping[KekId, bytes]) -> Iterator[None]:
    """Within: the PBES2 model uses ``keys`` or cached ones and raises :class:`DerivationNeeded`
    rather than deriving in the calling thread."""
    reset = _OFFERED.set(keys)
    try:
        yield
    finally:
        _OFFERED.reset(reset)


class DerivationNeeded(SessionError):
    """A token needs a key nobody derived yet (raised within :func:`offering`).

    :meth:`DerivationPool.run` catches it, derives the key and tries again. Should one reach a
    caller anyway, it reads like a busy pool: the token is refused, and nothing stalls.
    """

    def __init__(self, kid: KekId, derive: Callable[[], bytes]) -> None:
        super().__init__(ErrorCode.JWE_DERIVATION_BUSY, "the PBES2 key of this token is not derived yet")
        self.kid = kid
        self.derive = derive


def key_encryption_key(kid: KekId, derive: Callable[[], bytes]) -> bytes:
    """The KEK for ``kid``: remembered, offered by a pool, or derived now by a synchronous caller."""
    kek = KEK_CACHE.get(kid)
    if kek is not None:
        return kek
    offered = _OFFERED.get()
    if offered is None:
        return derive()
    kek = offered.get(kid)
    if kek is None:
        raise DerivationNeeded(kid, derive)
    return kek


WORKER_NICENESS = 10
"""How much lower the derivation threads' priority is (Linux only): their CPU share against the
event loop's thread drops to about a tenth."""


def _lower_priority() -> None:
    # elsewhere the nice value belongs to the whole process: lowering it would slow the loop too
    if sys.platform.startswith("linux"):
        with suppress(OSError):
            os.nice(WORKER_NICENESS)


async def _result(future: Future[bytes]) -> bytes:
    try:
        # shielded: a caller that goes away must not cancel a derivation others may be sharing
        return await asyncio.shield(asyncio.wrap_future(future))
    except Exception as exc:  # callers are promised SessionErrors only
        raise SessionError(ErrorCode.JWE_INVALID, f"PBES2 key derivation failed: {exc}") from exc


class _Derivation:
    """One derivation in the pool and the callers waiting for it."""

    __slots__ = ("future", "waiters")

    def __init__(self, future: Future[bytes]) -> None:
        self.future = future
        self.waiters = 0


class DerivationPool:
    """Derives PBES2 keys in ``workers`` threads of its own, with at most ``queue`` more waiting.

    Threads start on first use. One pool per codec: its bound is that config's.
    """

    __slots__ = ("_executor", "_lock", "_pending", "queue", "workers")

    def __init__(self, workers: int = 2, queue: int = 2) -> None:
        self.workers = check_count(workers, "pbes2_workers", minimum=1)
        self.queue = check_count(queue, "pbes2_queue", minimum=0)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # pools are shared by every event loop of the process
        self._pending: dict[KekId, _Derivation] = {}

    @property
    def pending(self) -> int:
        """Derivations running, waiting for a worker, or done but not yet used by their callers."""
        return len(self._pending)

    async def run(self, attempt: Callable[[], T], *, refusable: bool) -> T:
        """``attempt()`` (a decode or a seal) with every PBES2 key it asks for derived in this pool.

        A refusable caller (a read) gets ``ERR_JWE_DERIVATION_BUSY`` when the pool is full and the
        key is not already being derived; a seal waits for its turn.
        """
        keys: dict[KekId, bytes] = {}
        joined: list[KekId] = []
        try:
            while True:
                try:
                    with offering(keys):
                        return attempt()
                except DerivationNeeded as needed:
                    if needed.kid in keys:  # offered and still asked for: never loop
                        raise
                    future = self._join(needed, refusable)
                    joined.append(needed.kid)
                    keys[needed.kid] = await _result(future)
        finally:
            # only now: had the attempt succeeded, its key is cached, so a request for the same
            # token arriving between the derivation's end and here does not derive it again
            for kid in joined:
                self._leave(kid)

    def _join(self, needed: DerivationNeeded, refusable: bool) -> Future[bytes]:
        with self._lock:
            derivation = self._pending.get(needed.kid)
            started = derivation is None
            if derivation is None:
                if refusable and len(self._pending) >= self.workers + self.queue:
                    raise SessionError(
                        ErrorCode.JWE_DERIVATION_BUSY,
                        f"PBES2 key derivation refused: {self.workers} running and {self.queue} "
                        "waiting already",
                    )
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.workers, thread_name_prefix="jwtsession-pbes2", initializer=_lower_priority
                    )
                derivation = self._pending[needed.kid] = _Derivation(self._executor.submit(needed.derive))
            derivation.waiters += 1
        if started:  # outside the lock: a future already done runs the callback right here
            derivation.future.add_done_callback(partial(self._finished, needed.kid))
        return derivation.future

    def _leave(self, kid: KekId) -> None:
        with self._lock:
            derivation = self._pending.get(kid)
            if derivation is not None:
                derivation.waiters -= 1
                if derivation.waiters == 0 and derivation.future.done():
                    del self._pending[kid]

    def _finished(self, kid: KekId, future: Future[bytes]) -> None:
        # every waiter gone already (e.g. cancelled): nobody else will drop the entry
        with self._lock:
            derivation = self._pending.get(kid)
            if derivation is not None and derivation.future is future and derivation.waiters == 0:
                del self._pending[kid]
