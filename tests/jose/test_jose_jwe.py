from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from jose_support import DROP, IAT, NOW, claims, header_of, replace_segment, with_header
from joserfc import jwe
from joserfc.jwk import JWKRegistry, KeySet, OctKey, OKPKey
from joserfc.util import urlsafe_b64decode

from litestar_jwtsession.jose import (
    JWE_CONTENT_ALGORITHMS,
    JWK,
    PBES2_ALGORITHMS,
    ClaimRules,
    ErrorCode,
    JWECodec,
    KeyPair,
    SessionError,
    generate_jwk,
    jwe_registry,
)
from litestar_jwtsession.jose.pbes2 import KEK_CACHE
from litestar_jwtsession.jose.registries import _PBES2Algorithm

if TYPE_CHECKING:
    from collections.abc import Callable

PASSWORD = "correct horse battery staple"
FAST = 1000  # p2c for most password tests: 600000 costs ~100 ms per operation


def _error(codec: JWECodec, token: str, **kwargs: Any) -> SessionError:
    with pytest.raises(SessionError) as info:
        codec.decode(token, now=NOW, **kwargs)
    return info.value


def _fast(**kwargs: Any) -> JWECodec:
    return JWECodec(PASSWORD, pbes2_iterations=FAST, **kwargs)


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every PBKDF2 run of our PBES2 model, by iteration count."""
    calls: list[int] = []
    original = _PBES2Algorithm.compute_derived_key

    def counting(self: _PBES2Algorithm, key: bytes, p2s: bytes, p2c: int) -> bytes:
        calls.append(p2c)
        return original(self, key, p2s, p2c)

    monkeypatch.setattr(_PBES2Algorithm, "compute_derived_key", counting)
    return calls


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("alg", sorted(PBES2_ALGORITHMS))
def test_password_round_trip(alg: str) -> None:
    codec = _fast(alg=alg)
    token = codec.seal(claims())
    header = header_of(token)
    assert header["alg"] == alg
    assert header["p2c"] == FAST
    assert len(urlsafe_b64decode(header["p2s"].encode())) == 16
    assert "kid" not in header
    assert codec.decode(token, now=NOW) == claims()
    assert (codec.write_alg, codec.read_algs, codec.read_encs) == (alg, {alg}, JWE_CONTENT_ALGORITHMS)


def test_password_defaults_are_unjwt_s(derivations: list[int]) -> None:
    """The one full-strength test: unjwt's p2c 600000, PBES2-HS256+A128KW, A128GCM."""
    codec = JWECodec(PASSWORD)
    token = codec.seal(claims())
    assert header_of(token) == {
        "typ": "JWT",
        "cty": "application/json",
        "alg": "PBES2-HS256+A128KW",
        "enc": "A128GCM",
        "p2c": 600_000,
        "p2s": header_of(token)["p2s"],
    }
    assert codec.decode(token, now=NOW) == claims()
    assert derivations == [600_000]  # sealing remembered its key: reading it back derives nothing
    assert codec.read_algs == PBES2_ALGORITHMS
    assert "dir" not in codec.read_algs


def test_fresh_salt_per_token() -> None:
    codec = _fast()
    salts = {header_of(codec.seal(claims()))["p2s"] for _ in range(3)}
    assert len(salts) == 3


def test_password_reads_every_pbes2_variant_unless_pinned() -> None:
    reader = _fast()
    for alg in sorted(PBES2_ALGORITHMS):
        assert reader.decode(_fast(alg=alg).seal(claims()), now=NOW)["jti"] == "jti-1"
    pinned = _fast(alg="PBES2-HS256+A128KW")
    token = _fast(alg="PBES2-HS512+A256KW").seal(claims())
    assert _error(pinned, token).code is ErrorCode.JWE_ALG_NOT_ALLOWED


@pytest.mark.parametrize("alg", ["A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW"])
def test_wrapping_key_round_trip(oct_for: Callable[[str], JWK], alg: str) -> None:
    codec = JWECodec(oct_for(alg))
    token = codec.seal(claims())
    header = header_of(token)
    assert {k: header[k] for k in ("kid", "typ", "cty", "alg", "enc")} == {
        "kid": f"kid-{alg}",
        "typ": "JWT",
        "cty": "application/json",
        "alg": alg,
        "enc": "A128GCM",
    }
    assert set(header) - {"kid", "typ", "cty", "alg", "enc"} == ({"iv", "tag"} if "GCMKW" in alg else set())
    assert codec.decode(token, now=NOW) == claims()
    assert codec.read_algs == {alg}


@pytest.mark.parametrize("enc", sorted(JWE_CONTENT_ALGORITHMS))
def test_dir_key_round_trip(oct_for: Callable[[str], JWK], enc: str) -> None:
    codec = JWECodec(oct_for(enc))
    token = codec.seal(claims())
    assert (header_of(token)["alg"], header_of(token)["enc"]) == ("dir", enc)
    assert token.split(".")[1] == ""
    assert codec.decode(token, now=NOW) == claims()
    assert (codec.write_alg, codec.write_enc, codec.read_encs) == ("dir", enc, {enc})


@pytest.mark.parametrize(
    "alg", ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"]
)
def test_key_pair_round_trip(pair_for: Callable[[str], KeyPair], alg: str) -> None:
    pair = pair_for(alg)
    token = JWECodec(KeyPair(public_key=pair.public_key)).seal(claims())
    assert header_of(token)["alg"] == alg
    assert header_of(token)["kid"] == f"kid-{alg}"
    assert ("epk" in header_of(token)) is alg.startswith("ECDH")
    assert JWECodec(pair).decode(token, now=NOW) == claims()


def test_x25519_pair_needs_an_alg_to_seal() -> None:
    key = OKPKey.generate_key("X25519", parameters={"kid": "x"})
    pair = KeyPair(private_key=dict(key.as_dict(private=True)))
    with pytest.raises(ValueError, match="pass alg="):
        JWECodec(pair)
    codec = JWECodec(pair, alg="ECDH-ES+A256KW")
    assert codec.decode(codec.seal(claims()), now=NOW) == claims()
    assert codec.read_algs == {"ECDH-ES+A256KW"}


def test_private_only_pair_seals_g6(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("RSA-OAEP-256")
    codec = JWECodec(KeyPair(private_key=pair.private_key))
    assert codec.decode(codec.seal(claims()), now=NOW) == claims()
    assert JWECodec(pair).decode(codec.seal(claims()), now=NOW) == claims()


def test_public_only_pair_seals_but_cannot_open(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("ECDH-ES")
    sealer = JWECodec(KeyPair(public_key=pair.public_key))
    token = sealer.seal(claims())
    assert JWECodec(pair).decode(token, now=NOW) == claims()
    assert sealer.read_algs == frozenset()
    assert _error(sealer, token).code is ErrorCode.JWK_INVALID


def test_enc_pinning(oct_for: Callable[[str], JWK]) -> None:
    codec = JWECodec(oct_for("A256KW"), enc="A256CBC-HS512")
    token = codec.seal(claims())
    assert header_of(token)["enc"] == "A256CBC-HS512"
    assert codec.read_encs == {"A256CBC-HS512"}
    assert codec.decode(token, now=NOW) == claims()
    other = JWECodec(oct_for("A256KW")).seal(claims())  # A128GCM
    assert JWECodec(oct_for("A256KW")).decode(token, now=NOW) == claims()  # unpinned: any of the six
    assert _error(codec, other).code is ErrorCode.JWE_ALG_NOT_ALLOWED
    with pytest.raises(ValueError, match="not allowed"):
        JWECodec(oct_for("A256GCM"), enc="A128GCM")
    with pytest.raises(ValueError, match="not a supported"):
        JWECodec(oct_for("A256KW"), enc="DEF")


def test_dir_key_reads_only_its_cipher(oct_for: Callable[[str], JWK]) -> None:
    token = JWECodec(oct_for("A128KW")).seal(claims())  # A128KW/A128GCM: a different alg
    assert _error(JWECodec(oct_for("A128GCM")), token).code is ErrorCode.JWE_ALG_NOT_ALLOWED


@pytest.mark.parametrize(
    ("key", "kwargs", "match"),
    [
        ("", {}, "empty"),
        (PASSWORD, {"alg": "dir"}, "not allowed"),
        (PASSWORD, {"alg": "A128KW"}, "not allowed"),
        (PASSWORD, {"alg": "none"}, "not a supported"),
        (PASSWORD, {"pbes2_iterations": 0}, "positive"),
        (PASSWORD, {"pbes2_iterations": True}, "positive"),
        (PASSWORD, {"pbes2_iterations": 1000, "pbes2_iterations_range": (2000, 3000)}, "must contain"),
        (PASSWORD, {"pbes2_iterations": 1000, "pbes2_iterations_range": (0, 3000)}, "must contain"),
        (PASSWORD, {"max_token_size": 0}, "max_token_size"),
        ({"kty": "oct", "k": "c2hvcnQ"}, {}, "needs an 'alg'"),
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, {}, "KeyPair"),
        (42, {}, "Unusable JWE key"),
    ],
)
def test_bad_config(key: Any, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        JWECodec(key, **kwargs)


def test_bad_config_keys(oct_for: Callable[[str], JWK], pair_for: Callable[[str], KeyPair]) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        JWECodec(oct_for("A128KW"), alg="dir")
    with pytest.raises(ValueError, match="not a JWE"):
        JWECodec(oct_for("HS256"))
    with pytest.raises(ValueError, match="not a JWE"):
        JWECodec(pair_for("RS256"))


def test_seal_failures(oct_for: Callable[[str], JWK]) -> None:
    codec = JWECodec(oct_for("A128KW"))
    with pytest.raises(SessionError) as info:
        codec.seal({"x": object()})
    assert info.value.code is ErrorCode.TOKEN_ENCODE_FAILED


# --------------------------------------------------------------------------- read policy


@pytest.mark.parametrize("typ", ["jwt", "at+jwt", "", DROP, None, 7])
def test_typ_is_checked_for_jwe_g2(oct_for: Callable[[str], JWK], typ: Any) -> None:
    key = oct_for("A128KW")
    if isinstance(typ, str):  # genuinely sealed with another typ
        token = JWECodec(key, rules=ClaimRules(typ=typ)).seal(claims())
    else:  # typ is checked before decryption, so an edited header shows the same
        token = with_header(JWECodec(key).seal(claims()), typ=typ)
    assert _error(JWECodec(key), token).code is ErrorCode.JWT_TYP_INVALID


def _dir_token(raw_key: bytes, enc: str = "A128GCM") -> str:
    registry = jwe.JWERegistry(algorithms=["dir", enc])
    header = {"typ": "JWT", "alg": "dir", "enc": enc}
    return jwe.encrypt_compact(
        header, b'{"jti":"j","iat":1700000000}', OctKey.import_key(raw_key), registry=registry
    )


def test_dir_token_refused_for_a_password_g10() -> None:
    password = "sixteen byte pw!"
    assert len(password.encode()) == 16
    token = _dir_token(password.encode())
    codec = JWECodec(password, pbes2_iterations=FAST)
    assert _error(codec, token).code is ErrorCode.JWE_ALG_NOT_ALLOWED


def test_dir_token_refused_for_a_wrapping_key(oct_for: Callable[[str], JWK]) -> None:
    key = oct_for("A128KW")
    token = _dir_token(urlsafe_b64decode(key["k"].encode()))
    assert _error(JWECodec(key), token).code is ErrorCode.JWE_ALG_NOT_ALLOWED
    assert _error(JWECodec(key), token, key=key).code is ErrorCode.JWE_ALG_NOT_ALLOWED


def test_zip_is_refused(oct_for: Callable[[str], JWK]) -> None:
    key = oct_for("A128KW")
    registry = jwe.JWERegistry(algorithms=["A128KW", "A128GCM", "DEF"])
    header = {"typ": "JWT", "alg": "A128KW", "enc": "A128GCM", "zip": "DEF"}
    token = jwe.encrypt_compact(
        header, b'{"jti":"j","iat":1700000000}', OctKey.import_key(key), registry=registry
    )
    assert _error(JWECodec(key), token).code is ErrorCode.JWE_ALG_NOT_ALLOWED


@pytest.mark.parametrize(
    "p2c", [999, 1001, 2000, 600_000, 10**12, 0, -1, True, False, None, "1000", 1000.0, [1000]]
)
def test_foreign_p2c_is_refused_without_derivation(derivations: list[int], p2c: Any) -> None:
    token = with_header(_fast().seal(claims()), p2c=p2c)
    derivations.clear()
    error = _error(_fast(), token)
    assert error.code is ErrorCode.JWE_INVALID
    assert derivations == []


def test_genuine_token_with_foreign_p2c_is_refused_without_derivation(derivations: list[int]) -> None:
    registry = jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=(1, 10**6))
    header = {"typ": "JWT", "alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": 2000}
    token = jwe.encrypt_compact(
        header, b'{"jti":"j","iat":1700000000}', OctKey(b"pw", b"pw"), registry=registry
    )
    KEK_CACHE.clear()  # as if sealed by another process: reading it needs a derivation
    derivations.clear()
    assert _error(JWECodec("pw", pbes2_iterations=FAST), token).code is ErrorCode.JWE_INVALID
    assert _error(JWECodec("pw"), token).code is ErrorCode.JWE_INVALID  # default: exactly 600000
    assert derivations == []
    # the same token opens once its count is inside the configured range
    assert JWECodec("pw", pbes2_iterations=FAST, pbes2_iterations_range=(FAST, 2000)).decode(token, now=NOW)
    assert derivations == [2000]


def test_widened_range_accepts_smaller_counts(derivations: list[int]) -> None:
    old = _fast().seal(claims())
    widened = JWECodec(PASSWORD, pbes2_iterations=600_000, pbes2_iterations_range=(FAST, 600_000))
    KEK_CACHE.clear()  # as if sealed by another process: reading it needs a derivation
    derivations.clear()
    assert widened.decode(old, now=NOW) == claims()
    assert derivations == [FAST]
    assert _error(JWECodec(PASSWORD), old).code is ErrorCode.JWE_INVALID
    assert derivations == [FAST]


def test_wrong_password_and_tampering() -> None:
    token = _fast().seal(claims())
    assert (
        _error(JWECodec("another password", pbes2_iterations=FAST), token).code
        is ErrorCode.JWE_DECRYPTION_FAILED
    )
    ciphertext = token.split(".")[3]
    flipped = ("A" if ciphertext[0] != "A" else "B") + ciphertext[1:]
    assert _error(_fast(), replace_segment(token, 3, flipped)).code is ErrorCode.JWE_DECRYPTION_FAILED
    # the header is authenticated: editing it breaks the tag
    assert _error(_fast(), with_header(token, cty="text/plain")).code is ErrorCode.JWE_DECRYPTION_FAILED


def test_expired_token_reports_claims(oct_for: Callable[[str], JWK]) -> None:
    codec = JWECodec(oct_for("A256GCM"), rules=ClaimRules(max_token_age=10))
    error = _error(codec, codec.seal({"jti": "j", "iat": IAT - 11}))
    assert (error.code, error.claims) == (ErrorCode.JWT_EXPIRED, {"jti": "j", "iat": IAT - 11})


def test_payload_must_be_an_object(oct_for: Callable[[str], JWK]) -> None:
    key = oct_for("A128KW")
    registry = jwe.JWERegistry(algorithms=["A128KW", "A128GCM"])
    for plaintext, code in (
        (b"[1]", ErrorCode.JWT_PAYLOAD_INVALID),
        (b"nope", ErrorCode.JWT_PAYLOAD_INVALID),
    ):
        header = {"typ": "JWT", "alg": "A128KW", "enc": "A128GCM"}
        token = jwe.encrypt_compact(header, plaintext, OctKey.import_key(key), registry=registry)
        assert _error(JWECodec(key), token).code is code


# --------------------------------------------------------------------------- key lookup


def test_lookup_key_forms(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    pair = pair_for("RSA-OAEP")
    token = JWECodec(pair).seal(claims())
    configured = JWECodec(oct_for("A128KW"))
    assert _error(configured, token).code is ErrorCode.JWE_ALG_NOT_ALLOWED
    private = pair.private_key
    assert isinstance(private, dict)
    for key in (
        private,
        [private],
        {"keys": [oct_for("A128KW"), private]},
        pair,
        JWKRegistry.import_key(private),
    ):
        assert configured.decode(token, now=NOW, key=key) == claims()
    assert configured.decode(token, now=NOW, key=KeySet([JWKRegistry.import_key(dict(private))])) == claims()


def test_lookup_password_and_rotation() -> None:
    token = _fast().seal(claims())
    assert JWECodec("other", pbes2_iterations=FAST).decode(token, now=NOW, key=PASSWORD) == claims()
    old, new = generate_jwk("A256KW", kid="old"), generate_jwk("A256KW", kid="new")
    assert isinstance(old, dict)
    old_token = JWECodec(old).seal(claims())
    assert JWECodec(new).decode(old_token, now=NOW, key=[new, old]) == claims()
    assert _error(JWECodec(new), old_token).code is ErrorCode.JWE_DECRYPTION_FAILED
    stranger = with_header(old_token, kid="stranger")
    assert _error(JWECodec(new), stranger, key=[new, old]).code is ErrorCode.JWE_DECRYPTION_FAILED


def test_lookup_needs_private_keys(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("ECDH-ES")
    token = JWECodec(pair).seal(claims())
    codec = JWECodec(pair)
    assert _error(codec, token, key=pair.public_key).code is ErrorCode.JWK_INVALID
    assert _error(codec, token, key=KeyPair(public_key=pair.public_key)).code is ErrorCode.JWK_INVALID
    assert _error(codec, token, key=object()).code is ErrorCode.JWK_INVALID
    assert _error(codec, token, key=pair_for("ES256").private_key).code is ErrorCode.JWK_INVALID
