"""Counting (and holding) PBES2 key derivations in tests: a wrapper around the model's
``compute_derived_key``, joserfc's PBKDF2, that records where each run happened."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable

import pytest

from litestar_jwtsession.jose.registries import _PBES2Algorithm

__all__ = ("Derivations", "derivations", "until")


class Derivations:
    """Every PBKDF2 run: its count and whether an event loop was running in its thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool, str]] = []
        self.niceness: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def on_a_loop(self) -> list[bool]:
        return [on_loop for _, on_loop, _ in self.calls]


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> Derivations:
    record = Derivations()
    original = _PBES2Algorithm.compute_derived_key

    def counting(self: _PBES2Algorithm, key: bytes, p2s: bytes, p2c: int) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        record.calls.append((p2c, on_loop, threading.current_thread().name))
        if sys.platform.startswith("linux"):
            record.niceness.append(os.getpriority(os.PRIO_PROCESS, 0))  # 0: this thread, on Linux
        assert record.gate.wait(10), "the test never opened the gate"
        return original(self, key, p2s, p2c)

    monkeypatch.setattr(_PBES2Algorithm, "compute_derived_key", counting)
    return record


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition()`` holds (the pool's threads report back through it)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")
