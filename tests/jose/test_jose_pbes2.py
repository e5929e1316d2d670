"""PBES2 key derivation off the event loop (``jose/pbes2.py``): where it runs, how much of it is
admitted, and which derived keys are remembered.

Derivations are counted (and, where a test needs a full pool, held) by wrapping the model's
``compute_derived_key``, joserfc's PBKDF2. Nothing here measures time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from typing import Any

import pytest
from jose_support import NOW, claims, with_header
from joserfc.util import urlsafe_b64encode

from litestar_jwtsession.jose import ErrorCode, JWECodec, SessionError
from litestar_jwtsession.jose.pbes2 import KEK_CACHE, WORKER_NICENESS, DerivationPool
from tests.pbes2_support import Derivations, until

PASSWORD = "correct horse battery staple"
FAST = 1000


def _foreign(codec: JWECodec, **extra: Any) -> str:
    """A genuine token as another process would hand it over: its key is not remembered here."""
    token = codec.seal(claims(**extra))
    KEK_CACHE.clear()
    return token


def _forged(codec: JWECodec) -> str:
    """A token with the configured count and a fresh random ``p2s``: its key unwraps nothing."""
    return with_header(codec.seal(claims()), p2s=urlsafe_b64encode(secrets.token_bytes(16)).decode())


# --------------------------------------------------------------------------- off the loop


async def test_reading_derives_in_a_pool_thread_not_on_the_event_loop(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST)
    token = _foreign(codec)
    derivations.calls.clear()
    assert await codec.decode_async(token, now=NOW) == claims()
    assert derivations.on_a_loop == [False]
    assert derivations.calls[0][2].startswith("jwtsession-pbes2")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux gives each thread a nice value")
async def test_derivation_threads_yield_the_cpu_to_the_event_loop(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST)
    await codec.seal_async(claims())
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert derivations.niceness == [min(19, own + WORKER_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the event loop's thread kept its priority


async def test_sealing_derives_in_a_pool_thread_and_reads_back_without_deriving(
    derivations: Derivations,
) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, cache_size=0)  # every read really unwraps
    token = await codec.seal_async(claims())
    assert derivations.on_a_loop == [False]
    assert await codec.decode_async(token, now=NOW) == claims()
    assert codec.decode(token, now=NOW) == claims()
    assert len(derivations) == 1, "our own token's key was remembered when we sealed it"


async def test_a_token_seen_before_is_not_derived_again(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, cache_size=0)  # the key cache alone
    token = _foreign(codec)
    derivations.calls.clear()
    for _ in range(3):
        assert (await codec.decode_async(token, now=NOW))["jti"] == "jti-1"
    assert len(derivations) == 1


async def test_concurrent_reads_of_one_new_token_share_one_derivation(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, pbes2_workers=1, pbes2_queue=0)
    token = _foreign(codec)
    derivations.calls.clear()
    results = await asyncio.gather(*(codec.decode_async(token, now=NOW) for _ in range(5)))
    assert results == [claims()] * 5  # none refused, although the pool admits one derivation
    assert len(derivations) == 1


async def test_a_reader_arriving_just_after_the_derivation_reuses_it(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST)
    token = _foreign(codec)
    derivations.calls.clear()
    derivations.gate.clear()
    first = asyncio.ensure_future(codec.decode_async(token, now=NOW))
    await until(lambda: codec.derivations.pending == 1)
    (derivation,) = codec.derivations._pending.values()
    derivations.gate.set()
    derivation.future.result(10)  # done, and the first reader has not resumed yet (no await since)
    second = asyncio.ensure_future(codec.decode_async(token, now=NOW))
    assert [await first, await second] == [claims()] * 2
    assert len(derivations) == 1
    assert codec.derivations.pending == 0


# --------------------------------------------------------------------------- forged tokens


async def test_a_forged_tokens_key_never_enters_the_cache(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST)
    genuine = _foreign(codec)
    forged = _forged(codec)
    assert (await codec.decode_async(genuine, now=NOW))["jti"] == "jti-1"
    remembered = len(KEK_CACHE)
    derivations.calls.clear()
    for _ in range(2):
        with pytest.raises(SessionError) as caught:
            await codec.decode_async(forged, now=NOW)
        assert caught.value.code is ErrorCode.JWE_DECRYPTION_FAILED
    assert len(derivations) == 2, "a key that unwrapped nothing is derived again, never reused"
    assert len(KEK_CACHE) == remembered
    # the genuine token's key survived the forged ones
    assert codec.decode(genuine, now=NOW)["jti"] == "jti-1"
    assert len(derivations) == 2


def test_a_forged_token_read_synchronously_is_not_remembered_either(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST)
    forged = _forged(codec)
    KEK_CACHE.clear()
    with pytest.raises(SessionError):
        codec.decode(forged, now=NOW)
    assert len(KEK_CACHE) == 0


# --------------------------------------------------------------------------- the bound


async def test_past_workers_and_queue_a_new_derivation_is_refused(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, pbes2_workers=1, pbes2_queue=1)
    forged = [_forged(codec) for _ in range(3)]
    genuine = _foreign(codec, sub="user-2")
    derivations.calls.clear()
    derivations.gate.clear()  # derivations start, and hold, until the gate opens
    held = [asyncio.ensure_future(codec.decode_async(token, now=NOW)) for token in forged[:2]]
    await until(lambda: codec.derivations.pending == 2)  # one running, one waiting

    with pytest.raises(SessionError) as caught:
        await codec.decode_async(forged[2], now=NOW)
    assert caught.value.code is ErrorCode.JWE_DERIVATION_BUSY
    with pytest.raises(SessionError) as caught:
        await codec.decode_async(genuine, now=NOW)  # a genuine token is refused alike: not judged
    assert caught.value.code is ErrorCode.JWE_DERIVATION_BUSY
    # a token whose derivation is already admitted waits for it; a seal is never refused
    shared = asyncio.ensure_future(codec.decode_async(forged[0], now=NOW))
    sealed = asyncio.ensure_future(codec.seal_async(claims(sub="user-3")))
    await asyncio.sleep(0.05)
    assert not shared.done()
    assert not sealed.done()
    assert codec.derivations.pending == 3  # the seal went past the limit

    derivations.gate.set()
    for task in (*held, shared):
        with pytest.raises(SessionError) as caught:
            await task
        assert caught.value.code is ErrorCode.JWE_DECRYPTION_FAILED
    assert codec.decode(await sealed, now=NOW)["sub"] == "user-3"
    assert codec.derivations.pending == 0
    assert len(derivations) == 3  # two forged, one seal: the refused and the shared cost nothing
    # with room again, the genuine token is read
    assert (await codec.decode_async(genuine, now=NOW))["sub"] == "user-2"


async def test_trusted_reads_wait_instead_of_being_refused(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, pbes2_workers=1, pbes2_queue=0)
    genuine, forged = _foreign(codec), _forged(codec)
    derivations.gate.clear()
    held = asyncio.ensure_future(codec.decode_async(forged, now=NOW))
    await until(lambda: codec.derivations.pending == 1)
    trusted = asyncio.ensure_future(codec.decode_async(genuine, now=NOW, refusable=False))
    await asyncio.sleep(0.05)
    assert not trusted.done()
    derivations.gate.set()
    assert (await trusted)["jti"] == "jti-1"
    with pytest.raises(SessionError):
        await held


async def test_a_cancelled_reader_does_not_cancel_a_shared_derivation(derivations: Derivations) -> None:
    codec = JWECodec(PASSWORD, pbes2_iterations=FAST, pbes2_workers=1, pbes2_queue=0)
    token = _foreign(codec)
    derivations.calls.clear()
    derivations.gate.clear()
    first = asyncio.ensure_future(codec.decode_async(token, now=NOW))
    await until(lambda: codec.derivations.pending == 1)
    second = asyncio.ensure_future(codec.decode_async(token, now=NOW))
    await asyncio.sleep(0)
    first.cancel()  # e.g. the client went away
    derivations.gate.set()
    assert (await second)["jti"] == "jti-1"
    assert len(derivations) == 1


@pytest.mark.parametrize(("workers", "queue"), [(0, 2), (2, -1), (1.5, 2), (True, 2)])
def test_pool_limits_are_validated(workers: Any, queue: Any) -> None:
    with pytest.raises(ValueError, match="pbes2_"):
        DerivationPool(workers, queue)


async def test_keys_without_a_password_never_use_the_pool(oct_for: Any, derivations: Derivations) -> None:
    codec = JWECodec(oct_for("A256KW"))
    assert not codec.derives_keys
    assert await codec.decode_async(await codec.seal_async(claims()), now=NOW) == claims()
    assert codec.derivations.pending == 0
    assert len(derivations) == 0
