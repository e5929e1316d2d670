"""The verified-token cache and the PBES2 key cache skip cryptography, never a check."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc._rfc7518.jwe_algs import PBES2HSAlgKeyEncryption

from litestar_jwtsession import ErrorCode, JWESessionConfig, JWSSessionConfig, SessionError, generate_jwk
from litestar_jwtsession.jose.cache import VerifiedTokenCache

HS256 = generate_jwk("HS256")
NOW = 1_800_000_000.0


def claims(**extra: Any) -> dict[str, Any]:
    return {"jti": "id-1", "iat": int(NOW), **extra}


def test_a_hit_is_still_checked_for_expiry() -> None:
    config = JWSSessionConfig(key=HS256)
    token = config.encode_token(claims(exp=int(NOW) + 10))
    assert config.codec.decode(token, now=NOW)["jti"] == "id-1"
    assert len(config.codec.cache) == 1
    with pytest.raises(SessionError) as caught:
        config.codec.decode(token, now=NOW + 10)  # exp == now is expired
    assert caught.value.code is ErrorCode.JWT_EXPIRED


def test_a_hit_is_still_checked_for_max_age_without_exp() -> None:
    config = JWSSessionConfig(key=HS256, max_age=60)
    token = config.encode_token(claims())
    config.codec.decode(token, now=NOW)
    assert len(config.codec.cache) == 1
    with pytest.raises(SessionError) as caught:
        config.codec.decode(token, now=NOW + 61)
    assert caught.value.code is ErrorCode.JWT_EXPIRED


def test_a_rekeyed_config_rejects_a_token_another_config_cached() -> None:
    old = JWSSessionConfig(key=HS256, name="s")
    token = old.encode_token(claims())
    old.codec.decode(token, now=NOW)
    rekeyed = JWSSessionConfig(key=generate_jwk("HS256"), name="s")
    with pytest.raises(SessionError) as caught:
        rekeyed.codec.decode(token, now=NOW)
    assert caught.value.code is ErrorCode.JWS_SIGNATURE_INVALID


def test_a_tampered_copy_of_a_cached_token_is_not_a_hit() -> None:
    config = JWSSessionConfig(key=HS256)
    token = config.encode_token(claims())
    config.codec.decode(token, now=NOW)
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(SessionError):
        config.codec.decode(f"{head}.{payload}.{flipped}", now=NOW)


def test_hits_return_fresh_objects_callers_may_mutate() -> None:
    config = JWSSessionConfig(key=HS256)
    token = config.encode_token(claims(user={"role": "user"}))
    first = config.codec.decode(token, now=NOW)
    first["user"]["role"] = "admin"
    assert config.codec.decode(token, now=NOW)["user"] == {"role": "user"}


def test_key_lookup_results_are_never_cached() -> None:
    config = JWSSessionConfig(key=HS256)
    token = config.encode_token(claims())
    config.codec.decode(token, now=NOW, key=HS256)
    assert len(config.codec.cache) == 0


def test_cache_is_bounded_and_can_be_disabled() -> None:
    config = JWSSessionConfig(key=HS256, token_cache_size=2)
    for index in range(3):
        config.codec.decode(config.encode_token(claims(jti=f"id-{index}")), now=NOW)
    assert len(config.codec.cache) == 2
    off = JWSSessionConfig(key=HS256, token_cache_size=0)
    off.codec.decode(off.encode_token(claims()), now=NOW)
    assert len(off.codec.cache) == 0


def test_long_tokens_are_not_cached() -> None:
    config = JWSSessionConfig(key=HS256)
    token = config.encode_token(claims(blob="x" * VerifiedTokenCache.max_token_length))
    config.codec.decode(token, now=NOW)
    assert len(config.codec.cache) == 0


def test_pbes2_key_is_derived_once_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    derivations: list[int] = []
    original = PBES2HSAlgKeyEncryption.compute_derived_key

    def counting(self: Any, key: bytes, p2s: bytes, p2c: int) -> bytes:
        derivations.append(p2c)
        return original(self, key, p2s, p2c)

    monkeypatch.setattr(PBES2HSAlgKeyEncryption, "compute_derived_key", counting)
    # token cache off, so every decode really unwraps the key
    config = JWESessionConfig(key="correct horse battery staple", pbes2_iterations=1000, token_cache_size=0)
    token = config.encode_token(claims())
    assert derivations == [1000]
    for _ in range(3):
        assert config.codec.decode(token, now=NOW)["jti"] == "id-1"
    # sealing derived the key for this token's fresh salt; every read reuses it
    assert derivations == [1000]
    other = config.encode_token(claims(jti="id-2"))
    config.codec.decode(other, now=NOW)
    assert derivations == [1000, 1000], "a new token has a new salt, hence a new key"


def test_pbes2_key_cache_is_keyed_by_password() -> None:
    right = JWESessionConfig(key="correct horse battery staple", pbes2_iterations=1000, token_cache_size=0)
    wrong = JWESessionConfig(key="another password entirely", pbes2_iterations=1000, token_cache_size=0)
    token = right.encode_token(claims())
    right.codec.decode(token, now=NOW)
    with pytest.raises(SessionError) as caught:
        wrong.codec.decode(token, now=NOW)
    assert caught.value.code is ErrorCode.JWE_DECRYPTION_FAILED


def test_a_hit_is_still_checked_for_not_before_and_future_iat() -> None:
    config = JWSSessionConfig(key=HS256, leeway=10, max_age=60)
    token = config.encode_token(claims(iat=int(NOW) + 5, nbf=int(NOW) + 5))
    config.codec.decode(token, now=NOW)  # within the leeway: accepted and cached
    assert len(config.codec.cache) == 1
    with pytest.raises(SessionError) as caught:
        config.codec.decode(token, now=NOW - 20)
    assert caught.value.code is ErrorCode.JWT_NBF
    no_nbf = config.encode_token(claims(jti="id-2", iat=int(NOW) + 5))
    config.codec.decode(no_nbf, now=NOW)
    with pytest.raises(SessionError) as caught:
        config.codec.decode(no_nbf, now=NOW - 20)
    assert caught.value.code is ErrorCode.JWT_CLAIM_INVALID  # issued in the future


def test_hit_and_miss_agree_at_every_second_around_the_edges() -> None:
    config = JWSSessionConfig(key=HS256, leeway=2, max_age=30)
    uncached = JWSSessionConfig(key=HS256, leeway=2, max_age=30, token_cache_size=0)
    token = config.encode_token(claims(exp=int(NOW) + 20, nbf=int(NOW) - 1))
    config.codec.decode(token, now=NOW)

    def outcome(codec: Any, at: float) -> str:
        try:
            codec.decode(token, now=at)
        except SessionError as error:
            return error.code.value
        return "ok"

    for tenth in range(-60, 400):
        at = NOW + tenth / 10
        assert outcome(config.codec, at) == outcome(uncached.codec, at), at
