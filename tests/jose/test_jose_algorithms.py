from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from joserfc import jwe, jws
from joserfc.errors import InvalidHeaderValueError, SecurityWarning, UnsupportedAlgorithmError
from joserfc.jwk import OctKey, OKPKey
from joserfc.jws import JWSRegistry

from litestar_jwtsession.jose import (
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    JWK,
    JWS_ALGORITHMS,
    PBES2_ALGORITHMS,
    JWECodec,
    KeyPair,
    jwe_allowed_algorithms,
    jwe_registry,
    jws_allowed_algorithms,
    jws_registry,
)
from litestar_jwtsession.jose.registries import _EdDSAAlgorithm, _PBES2Algorithm

if TYPE_CHECKING:
    from collections.abc import Callable

ECDH = frozenset({"ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"})


def _without_alg(jwk: JWK) -> JWK:
    return {name: value for name, value in jwk.items() if name != "alg"}


def _public(pair: KeyPair) -> JWK:
    assert isinstance(pair.public_key, dict)
    return pair.public_key


def test_constants() -> None:
    assert "none" not in JWS_ALGORITHMS | JWE_KEY_ALGORITHMS | JWE_CONTENT_ALGORITHMS
    assert len(JWS_ALGORITHMS) == 14
    assert len(JWE_KEY_ALGORITHMS) == 16
    assert len(JWE_CONTENT_ALGORITHMS) == 6
    assert PBES2_ALGORITHMS < JWE_KEY_ALGORITHMS
    assert {"dir", *ECDH} < JWE_KEY_ALGORITHMS


# --------------------------------------------------------------------------- JWS allow-lists


@pytest.mark.parametrize("alg", sorted(JWS_ALGORITHMS))
def test_jws_key_alg_is_exact(
    pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK], alg: str
) -> None:
    key = oct_for(alg) if alg.startswith("HS") else _public(pair_for(alg))
    assert jws_allowed_algorithms(key) == {alg}
    assert jws_allowed_algorithms(key, alg=alg) == {alg}


@pytest.mark.parametrize(
    ("source", "expected"),
    [("ES256", {"ES256"}), ("ES384", {"ES384"}), ("ES512", {"ES512"}), ("EdDSA", {"EdDSA", "Ed25519"})],
)
def test_jws_inferred_without_alg(
    pair_for: Callable[[str], KeyPair], source: str, expected: set[str]
) -> None:
    assert jws_allowed_algorithms(_without_alg(_public(pair_for(source)))) == expected


def test_jws_rsa_and_oct_need_alg(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    rsa, hs = _without_alg(_public(pair_for("RS256"))), _without_alg(oct_for("HS256"))
    for key in (rsa, hs):
        with pytest.raises(ValueError, match="needs an 'alg'"):
            jws_allowed_algorithms(key)
    # a pinned alg stands in for the missing one when the key fits it
    assert jws_allowed_algorithms(rsa, alg="PS256") == {"PS256"}
    assert jws_allowed_algorithms(hs, alg="HS256") == {"HS256"}
    with pytest.raises(ValueError, match="at least 48 bytes"):
        jws_allowed_algorithms(hs, alg="HS384")


@pytest.mark.parametrize(
    ("make", "pinned", "match"),
    [
        (lambda p, o: o("HS256"), "HS512", "not allowed"),  # G13: no HS512 with a 32-byte HS256 key
        (lambda p, o: _public(p("RS256")), "HS256", "not allowed"),
        (lambda p, o: _public(p("ES256")), "ES384", "not allowed"),
        (lambda p, o: _without_alg(_public(p("ES256"))), "ES384", "Curve 'P-256'"),
        (lambda p, o: _without_alg(_public(p("ES256"))), "RS256", "cannot be used"),
        (lambda p, o: o("A128KW"), None, "not a JWS algorithm"),
        (lambda p, o: _public(p("RSA-OAEP")), None, "not a JWS algorithm"),
        (lambda p, o: {**o("HS256"), "alg": "none"}, None, "not a JWS algorithm"),
        (lambda p, o: o("HS256"), "none", "not a supported"),
        (lambda p, o: {"kty": "oct", "k": "c2hvcnQ", "alg": "HS256"}, None, "at least 32 bytes"),
        (lambda p, o: {**_public(p("RS256")), "alg": "ES256"}, None, "cannot be used"),
    ],
)
def test_jws_allow_list_refusals(
    pair_for: Callable[[str], KeyPair],
    oct_for: Callable[[str], JWK],
    make: Any,
    pinned: str | None,
    match: str,
) -> None:
    with pytest.raises(ValueError, match=match):
        jws_allowed_algorithms(make(pair_for, oct_for), alg=pinned)


# --------------------------------------------------------------------------- JWE allow-lists


def test_jwe_password() -> None:
    allowed = jwe_allowed_algorithms("a password")
    assert allowed.algs == PBES2_ALGORITHMS
    assert "dir" not in allowed.algs
    assert allowed.encs == JWE_CONTENT_ALGORITHMS
    pinned = jwe_allowed_algorithms("pw", alg="PBES2-HS512+A256KW", enc="A256GCM")
    assert pinned == ({"PBES2-HS512+A256KW"}, {"A256GCM"})
    with pytest.raises(ValueError, match="not allowed"):
        jwe_allowed_algorithms("pw", alg="dir")


@pytest.mark.parametrize("alg", ["A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW"])
def test_jwe_wrapping_key_never_dir(oct_for: Callable[[str], JWK], alg: str) -> None:
    assert jwe_allowed_algorithms(oct_for(alg)) == ({alg}, JWE_CONTENT_ALGORITHMS)
    with pytest.raises(ValueError, match="not allowed"):
        jwe_allowed_algorithms(oct_for(alg), alg="dir")


@pytest.mark.parametrize("enc", sorted(JWE_CONTENT_ALGORITHMS))
def test_jwe_content_cipher_key_is_dir(oct_for: Callable[[str], JWK], enc: str) -> None:
    assert jwe_allowed_algorithms(oct_for(enc)) == ({"dir"}, {enc})
    other = next(iter(JWE_CONTENT_ALGORITHMS - {enc}))
    with pytest.raises(ValueError, match="not allowed"):
        jwe_allowed_algorithms(oct_for(enc), enc=other)


def test_jwe_asymmetric(pair_for: Callable[[str], KeyPair]) -> None:
    for alg in ("RSA-OAEP", "RSA-OAEP-256", *sorted(ECDH)):
        assert jwe_allowed_algorithms(_public(pair_for(alg))).algs == {alg}
    assert jwe_allowed_algorithms(_without_alg(_public(pair_for("ECDH-ES")))).algs == ECDH
    x25519 = OKPKey.generate_key("X25519").as_dict()
    assert jwe_allowed_algorithms(x25519).algs == ECDH
    assert jwe_allowed_algorithms(x25519, alg="ECDH-ES+A128KW").algs == {"ECDH-ES+A128KW"}
    rsa = _without_alg(_public(pair_for("RSA-OAEP")))
    with pytest.raises(ValueError, match="needs an 'alg'"):
        jwe_allowed_algorithms(rsa)
    assert jwe_allowed_algorithms(rsa, alg="RSA-OAEP-256").algs == {"RSA-OAEP-256"}


@pytest.mark.parametrize(
    ("make", "alg", "enc", "match"),
    [
        (lambda p, o: o("HS256"), None, None, "not a JWE"),
        (lambda p, o: _without_alg(_public(p("EdDSA"))), None, None, "needs an 'alg'"),
        (lambda p, o: _public(p("RS256")), None, None, "not a JWE"),
        (lambda p, o: _without_alg(o("A128KW")), None, None, "needs an 'alg'"),
        (lambda p, o: _without_alg(o("A128KW")), "A256KW", None, "exactly 32 bytes"),
        (lambda p, o: _without_alg(o("A128KW")), "dir", None, "pinned 'enc'"),
        (lambda p, o: _without_alg(o("A128KW")), "PBES2-HS256+A128KW", None, "password"),
        (lambda p, o: {**o("A128KW"), "alg": "PBES2-HS256+A128KW"}, None, None, "password"),
        (lambda p, o: o("A128KW"), "none", None, "not a supported"),
        (lambda p, o: o("A128KW"), None, "DEF", "not a supported"),
        (lambda p, o: {**o("A128KW"), "alg": "A256KW"}, None, None, "exactly 32 bytes"),
    ],
)
def test_jwe_allow_list_refusals(
    pair_for: Callable[[str], KeyPair],
    oct_for: Callable[[str], JWK],
    make: Any,
    alg: str | None,
    enc: str | None,
    match: str,
) -> None:
    with pytest.raises(ValueError, match=match):
        jwe_allowed_algorithms(make(pair_for, oct_for), alg=alg, enc=enc)


@pytest.mark.parametrize(
    "jwk",
    [{"kty": "oct", "k": "AAAA", "alg": ["HS256"]}, {"kty": ["EC"]}, {"kty": "EC", "crv": {"P-256": 1}}],
)
def test_malformed_members_are_value_errors(jwk: JWK) -> None:
    with pytest.raises(ValueError, match="must be strings"):
        jws_allowed_algorithms(jwk)
    with pytest.raises(ValueError, match="must be strings"):
        jwe_allowed_algorithms(jwk)


def test_jwe_dir_without_alg_needs_pinned_enc(oct_for: Callable[[str], JWK]) -> None:
    key = _without_alg(oct_for("A128GCM"))
    assert jwe_allowed_algorithms(key, alg="dir", enc="A128GCM") == ({"dir"}, {"A128GCM"})


# --------------------------------------------------------------------------- registries


def test_registry_builders_refuse_bad_lists() -> None:
    for bad in (["none"], ["HS256", "none"], [], ["A128KW"]):
        with pytest.raises(ValueError, match=r"Unsupported|At least one"):
            jws_registry(bad)
    with pytest.raises(TypeError):
        jws_registry("HS256")
    with pytest.raises(ValueError, match="p2c_range"):
        jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=None)
    with pytest.raises(ValueError, match="Unsupported"):
        jwe_registry(["dir"], ["DEF"], p2c_range=None)
    with pytest.raises(ValueError, match="iteration range"):
        jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=(0, 10))
    with pytest.raises(ValueError, match="iteration range"):
        jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=(10, 5))


def test_private_tables_leave_joserfc_global_state_alone() -> None:
    """p2c 600000 works through our registry while a stock registry still refuses it."""
    password = OctKey(b"correct horse battery", b"correct horse battery")
    ours = jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=(600_000, 600_000))
    header = {"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": 600_000}
    token = jwe.encrypt_compact(header, b"{}", password, registry=ours)  # ~100 ms of PBKDF2
    stock = jwe.JWERegistry(algorithms=["PBES2-HS256+A128KW", "A128GCM"])
    with pytest.raises(InvalidHeaderValueError, match="300000"):
        jwe.decrypt_compact(token, password, registry=stock)
    with pytest.raises(UnsupportedAlgorithmError, match="not recommended"):
        jwe.decrypt_compact(token, password, registry=jwe.JWERegistry())
    assert not isinstance(jwe.JWERegistry.algorithms["alg"]["PBES2-HS256+A128KW"], _PBES2Algorithm)
    assert "DEF" in jwe.JWERegistry.algorithms["zip"]
    # ... and the 600000 token does open with our registry (the second ~100 ms)
    assert jwe.decrypt_compact(token, password, registry=ours).plaintext == b"{}"


def test_stock_eddsa_still_warns_ours_does_not(pair_for: Callable[[str], KeyPair]) -> None:
    private = pair_for("EdDSA").private_key
    assert isinstance(private, dict)
    key = OKPKey.import_key(private)
    token = jws.serialize_compact({"alg": "EdDSA"}, b"{}", key, registry=jws_registry(["EdDSA"]))
    assert jws.deserialize_compact(token, key, registry=jws_registry(["EdDSA"])).payload == b"{}"
    with pytest.warns(SecurityWarning, match="deprecated"):
        jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    assert not isinstance(JWSRegistry.algorithms["EdDSA"], _EdDSAAlgorithm)
    assert JWSRegistry.algorithms["EdDSA"].security_warning


def test_p2c_policy_runs_before_the_algorithm() -> None:
    registry = jwe_registry(["PBES2-HS256+A128KW"], ["A128GCM"], p2c_range=(1000, 2000))
    for p2c in (999, 2001, True, "1000", 1000.0, None):
        header = {"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": p2c, "p2s": "c2FsdHNhbHQ"}
        with pytest.raises(InvalidHeaderValueError, match=r"\[1000, 2000\]"):
            registry.check_header(header, True)
    registry.check_header({"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": 1500, "p2s": "c2FsdA"}, True)


def test_codec_exposes_allow_lists(oct_for: Callable[[str], JWK]) -> None:
    codec = JWECodec(oct_for("A256GCM"))
    assert (codec.write_alg, codec.write_enc, codec.read_algs, codec.read_encs) == (
        "dir",
        "A256GCM",
        {"dir"},
        {"A256GCM"},
    )
