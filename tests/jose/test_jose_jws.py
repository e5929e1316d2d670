from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest
from jose_support import DROP, IAT, NOW, claims, header_of, replace_segment, with_header
from joserfc import jws
from joserfc.jwk import JWKRegistry, KeySet, OctKey
from joserfc.util import json_b64encode

from litestar_jwtsession.jose import (
    JWK,
    JWS_ALGORITHMS,
    ClaimRules,
    ErrorCode,
    JWSCodec,
    KeyPair,
    SessionError,
    export_pem,
    generate_jwk,
)

if TYPE_CHECKING:
    from collections.abc import Callable


def _key(alg: str, pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> JWK | KeyPair:
    return oct_for(alg) if alg.startswith("HS") else pair_for(alg)


def _error(codec: JWSCodec, token: str, **kwargs: Any) -> SessionError:
    with pytest.raises(SessionError) as info:
        codec.decode(token, now=NOW, **kwargs)
    return info.value


def _raw_token(header: dict[str, Any], payload: bytes, key: Any, alg: str) -> str:
    """A token built with joserfc directly (what an attacker or another library could send)."""
    return jws.serialize_compact(header, payload, key, registry=jws.JWSRegistry(algorithms=[alg]))


@pytest.mark.parametrize("alg", sorted(JWS_ALGORITHMS))
def test_round_trip(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK], alg: str) -> None:
    codec = JWSCodec(_key(alg, pair_for, oct_for))
    token = codec.sign(claims(data={"n": 1}))
    assert header_of(token) == {"kid": f"kid-{alg}", "typ": "JWT", "cty": "application/json", "alg": alg}
    assert list(header_of(token)) == ["kid", "typ", "cty", "alg"]  # unjwt's member order
    assert codec.decode(token, now=NOW) == claims(data={"n": 1})
    assert (codec.write_alg, codec.read_algs) == (alg, {alg})


def test_payload_is_compact_json(oct_for: Callable[[str], JWK]) -> None:
    token = JWSCodec(oct_for("HS256")).sign({"a": [1, 2], "b": "é"})
    payload = jws.extract_compact(token.encode()).payload
    assert payload == '{"a":[1,2],"b":"é"}'.encode()


def test_header_has_no_kid_when_the_key_has_none(oct_for: Callable[[str], JWK]) -> None:
    key = {name: value for name, value in oct_for("HS256").items() if name != "kid"}
    codec = JWSCodec(key)
    token = codec.sign(claims())
    assert header_of(token) == {"typ": "JWT", "cty": "application/json", "alg": "HS256"}
    assert codec.decode(token, now=NOW)["jti"] == "jti-1"


def test_custom_typ(oct_for: Callable[[str], JWK]) -> None:
    codec = JWSCodec(oct_for("HS256"), rules=ClaimRules(typ="at+jwt"))
    token = codec.sign(claims())
    assert header_of(token)["typ"] == "at+jwt"
    assert codec.decode(token, now=NOW)["sub"] == "user-1"
    assert _error(JWSCodec(oct_for("HS256")), token).code is ErrorCode.JWT_TYP_INVALID


@pytest.mark.parametrize("typ", ["jwt", "JWT ", "at+jwt", "", DROP, None, 1, ["JWT"]])
def test_typ_must_match_exactly(oct_for: Callable[[str], JWK], typ: Any) -> None:
    key = oct_for("HS256")
    if isinstance(typ, str):  # a genuinely signed token with another typ
        token = JWSCodec(key, rules=ClaimRules(typ=typ)).sign(claims())
    else:  # joserfc will not sign these: edit the header (typ is checked before the signature)
        token = with_header(JWSCodec(key).sign(claims()), typ=typ)
    assert _error(JWSCodec(key), token).code is ErrorCode.JWT_TYP_INVALID


def test_public_only_pair_verifies_but_cannot_sign(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("ES256")
    token = JWSCodec(pair).sign(claims())
    verifier = JWSCodec(KeyPair(public_key=pair.public_key))
    assert verifier.write_alg is None
    assert verifier.decode(token, now=NOW)["jti"] == "jti-1"
    with pytest.raises(SessionError) as info:
        verifier.sign(claims())
    assert info.value.code is ErrorCode.JWK_INVALID


def test_private_only_pair_verifies_with_its_public_half(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("RS256")
    codec = JWSCodec(KeyPair(private_key=pair.private_key))
    assert JWSCodec(KeyPair(public_key=pair.public_key)).decode(codec.sign(claims()), now=NOW)
    assert codec.decode(codec.sign(claims()), now=NOW)["sub"] == "user-1"


@pytest.mark.parametrize("as_jwks", [False, True])
def test_rotation_with_two_kids(as_jwks: bool) -> None:
    old, new = generate_jwk("ES256", kid="old"), generate_jwk("RS256", kid="new")
    assert isinstance(old, KeyPair)
    assert isinstance(new, KeyPair)
    publics = [new.public_key, old.public_key]
    public: Any = {"keys": publics} if as_jwks else publics
    current = JWSCodec(KeyPair(private_key=new.private_key, public_key=public))
    assert current.read_algs == {"RS256", "ES256"}
    old_token = JWSCodec(old).sign(claims())
    assert current.decode(old_token, now=NOW)["jti"] == "jti-1"
    assert current.decode(current.sign(claims()), now=NOW)["jti"] == "jti-1"
    assert _error(current, with_header(old_token, kid="gone")).code is ErrorCode.JWS_SIGNATURE_INVALID
    # a token without kid is tried against every key of its alg
    assert current.decode(_raw_token(
        {"typ": "JWT", "alg": "ES256"}, b'{"jti":"j","iat":1700000000}', _signing_key(old), "ES256"
    ), now=NOW) == {"jti": "j", "iat": IAT}  # fmt: skip


def _signing_key(pair: KeyPair) -> Any:
    assert pair.private_key is not None
    return JWKRegistry.import_key(pair.private_key)


def test_kid_picks_among_same_alg_keys() -> None:
    first, second = generate_jwk("HS256", kid="a"), generate_jwk("HS256", kid="b")
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    token = JWSCodec(second).sign(claims())
    # rotation of oct keys goes through a key lookup returning several keys
    assert JWSCodec(first).decode(token, now=NOW, key=[first, second])["jti"] == "jti-1"
    assert _error(JWSCodec(first), token).code is ErrorCode.JWS_SIGNATURE_INVALID
    assert _error(JWSCodec(first), with_header(token, kid="a")).code is ErrorCode.JWS_SIGNATURE_INVALID


def test_pinning(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        JWSCodec(oct_for("HS256"), alg="HS512")  # G13
    with pytest.raises(ValueError, match="not a supported"):
        JWSCodec(oct_for("HS256"), alg="none")
    rsa = pair_for("RS256")
    assert isinstance(rsa.private_key, dict)
    bare = KeyPair(private_key={k: v for k, v in rsa.private_key.items() if k != "alg"})
    with pytest.raises(ValueError, match="needs an 'alg'"):
        JWSCodec(bare)
    pinned = JWSCodec(bare, alg="PS256")
    assert (pinned.write_alg, pinned.read_algs) == ("PS256", {"PS256"})
    assert header_of(pinned.sign(claims()))["alg"] == "PS256"
    ed = pair_for("Ed25519")
    assert isinstance(ed.private_key, dict)
    bare_ed = KeyPair(private_key={k: v for k, v in ed.private_key.items() if k != "alg"})
    with pytest.raises(ValueError, match="pass alg="):
        JWSCodec(bare_ed)
    assert JWSCodec(bare_ed, alg="EdDSA").write_alg == "EdDSA"


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("a password", "password"),
        (b"bytes", "Unusable JWS key"),
        ({"kty": "RSA", "n": "x", "e": "AQAB"}, "KeyPair"),
        ({"kty": "oct", "k": "c2hvcnQ", "alg": "HS256"}, "at least 32 bytes"),
        ({"kty": "oct", "k": "c2hvcnQ"}, "needs an 'alg'"),
        ({"kty": "oct", "k": "!!!", "alg": "HS256"}, "not base64url"),
    ],
)
def test_bad_config_keys(key: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        JWSCodec(key)


def test_bad_config_values(oct_for: Callable[[str], JWK]) -> None:
    with pytest.raises(ValueError, match="max_token_size"):
        JWSCodec(oct_for("HS256"), max_token_size=0)


def test_sign_failures(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    codec = JWSCodec(oct_for("HS256"))
    for bad in ({"x": object()}, {"x": {1j}}, [("a", 1)]):
        with pytest.raises(SessionError) as info:
            codec.sign(bad)  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.TOKEN_ENCODE_FAILED
    assert codec.decode(codec.sign(MappingProxyType(claims())), now=NOW) == claims()
    with pytest.raises(SessionError) as info:
        JWSCodec(oct_for("HS256"), max_token_size=100).sign(claims(blob="x" * 100))
    assert info.value.code is ErrorCode.TOKEN_TOO_LARGE


def test_none_alg_is_refused(oct_for: Callable[[str], JWK]) -> None:
    header = json_b64encode({"typ": "JWT", "alg": "none"}).decode()
    token = f"{header}.{json_b64encode({'jti': 'j', 'iat': IAT}).decode()}."
    for key in (None, oct_for("HS256"), [oct_for("HS256")]):
        assert _error(JWSCodec(oct_for("HS256")), token, key=key).code is ErrorCode.JWS_ALG_NOT_ALLOWED
    assert _error(JWSCodec(oct_for("HS256")), token + "c2ln").code is ErrorCode.JWS_ALG_NOT_ALLOWED


def test_hs256_signed_with_the_rsa_public_key_is_refused(pair_for: Callable[[str], KeyPair]) -> None:
    pair = pair_for("RS256")
    assert isinstance(pair.public_key, dict)
    pem = export_pem(pair.public_key).encode()
    # built directly: joserfc 1.8 refuses to import a public PEM as an oct key, an attacker would not
    token = _raw_token(
        {"typ": "JWT", "alg": "HS256"}, b'{"jti":"j","iat":1700000000}', OctKey(pem, pem), "HS256"
    )
    codec = JWSCodec(KeyPair(public_key=pair.public_key))
    assert _error(codec, token).code is ErrorCode.JWS_ALG_NOT_ALLOWED
    assert _error(codec, with_header(token, kid="kid-RS256")).code is ErrorCode.JWS_ALG_NOT_ALLOWED


def test_other_alg_of_the_same_family_is_refused(pair_for: Callable[[str], KeyPair]) -> None:
    token = JWSCodec(pair_for("ES384")).sign(claims())
    assert _error(JWSCodec(pair_for("ES256")), token).code is ErrorCode.JWS_ALG_NOT_ALLOWED
    token = JWSCodec(pair_for("RS256")).sign(claims())
    assert _error(JWSCodec(pair_for("PS256")), token).code is ErrorCode.JWS_ALG_NOT_ALLOWED


def test_bad_signatures(oct_for: Callable[[str], JWK], pair_for: Callable[[str], KeyPair]) -> None:
    codec = JWSCodec(oct_for("HS256"))
    token = codec.sign(claims())
    other = JWSCodec(generate_jwk("HS256", kid="kid-HS256"))  # same kid, other secret
    assert _error(other, token).code is ErrorCode.JWS_SIGNATURE_INVALID
    admin_payload = JWSCodec(oct_for("HS256")).sign(claims(sub="admin")).split(".")[1]
    forged = replace_segment(token, 1, admin_payload)
    assert _error(codec, forged).code is ErrorCode.JWS_SIGNATURE_INVALID
    assert _error(codec, replace_segment(token, 2, "")).code is ErrorCode.JWS_SIGNATURE_INVALID
    es = JWSCodec(pair_for("ES256"))
    assert _error(es, replace_segment(es.sign(claims()), 2, "AAAA")).code is ErrorCode.JWS_SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"[1,2]", ErrorCode.JWT_PAYLOAD_INVALID),
        (b'"text"', ErrorCode.JWT_PAYLOAD_INVALID),
        (b"not json", ErrorCode.JWT_PAYLOAD_INVALID),
        (b'{"jti":"j","iat":1700000000,"exp":NaN}', ErrorCode.JWT_PAYLOAD_INVALID),
        (b'{"jti":"j","iat":1e400}', ErrorCode.JWT_PAYLOAD_INVALID),
        (b'{"iat":1700000000}', ErrorCode.JWT_CLAIM_MISSING),
        (b'{"jti":"j","iat":1700000000,"exp":1700000000}', ErrorCode.JWT_EXPIRED),
    ],
)
def test_verified_payload_is_still_checked(
    oct_for: Callable[[str], JWK], payload: bytes, code: ErrorCode
) -> None:
    key = oct_for("HS256")
    token = _raw_token(
        {"kid": "kid-HS256", "typ": "JWT", "alg": "HS256"}, payload, OctKey.import_key(key), "HS256"
    )
    assert _error(JWSCodec(key), token).code is code


def test_unencoded_payload_is_refused(oct_for: Callable[[str], JWK]) -> None:
    key = oct_for("HS256")
    header = {"typ": "JWT", "alg": "HS256", "b64": False, "crit": ["b64"]}
    token = _raw_token(header, b'{"jti":"j","iat":1700000000}', OctKey.import_key(key), "HS256")
    assert _error(JWSCodec(key), token).code is ErrorCode.JWS_INVALID


def test_unknown_non_critical_headers_are_ignored(oct_for: Callable[[str], JWK]) -> None:
    key = oct_for("HS256")
    header = {"typ": "JWT", "alg": "HS256", "x-custom": 1}
    reg = jws.JWSRegistry(algorithms=["HS256"], strict_check_header=False)
    token = jws.serialize_compact(
        header, b'{"jti":"j","iat":1700000000}', OctKey.import_key(key), registry=reg
    )
    assert JWSCodec(key).decode(token, now=NOW)["jti"] == "j"
    # a critical one is refused (before the signature is even looked at)
    assert _error(JWSCodec(key), with_header(token, crit=["x-custom"])).code is ErrorCode.JWS_INVALID
    assert _error(JWSCodec(key), with_header(token, crit=["exp"])).code is ErrorCode.JWS_INVALID


def test_expired_token_reports_claims(oct_for: Callable[[str], JWK]) -> None:
    codec = JWSCodec(oct_for("HS256"))
    error = _error(codec, codec.sign({"jti": "j", "iat": IAT - 100, "exp": IAT}))
    assert (error.code, error.claims) == (ErrorCode.JWT_EXPIRED, {"jti": "j", "iat": IAT - 100, "exp": IAT})


def test_rules_are_applied(oct_for: Callable[[str], JWK]) -> None:
    codec = JWSCodec(oct_for("HS256"), rules=ClaimRules(issuer="me", max_token_age=10))
    assert _error(codec, codec.sign(claims(iss="you"))).code is ErrorCode.JWT_CLAIM_INVALID
    token = codec.sign({"jti": "j", "iat": IAT - 11, "iss": "me"})  # no exp: max_token_age still applies (G3)
    assert _error(codec, token).code is ErrorCode.JWT_EXPIRED


# --------------------------------------------------------------------------- key lookup


def test_lookup_key_forms(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    pair = pair_for("ES256")
    public = pair.public_key
    assert isinstance(public, dict)
    token = JWSCodec(pair).sign(claims())
    configured = JWSCodec(oct_for("HS256"))  # the configured key does not matter with a lookup key
    assert _error(configured, token).code is ErrorCode.JWS_ALG_NOT_ALLOWED
    for key in (
        public,
        [public],
        {"keys": [pair_for("RS256").public_key, public]},
        KeyPair(public_key=public),
        KeyPair(private_key=pair.private_key),
        pair.private_key,
        _signing_key(pair),
        KeySet([_signing_key(pair)]),
    ):
        assert configured.decode(token, now=NOW, key=key)["jti"] == "jti-1"


def test_lookup_key_is_intersected_with_the_pin(pair_for: Callable[[str], KeyPair]) -> None:
    codec = JWSCodec(pair_for("RS256"), alg="RS256")
    token = JWSCodec(pair_for("ES256")).sign(claims())
    assert _error(codec, token, key=pair_for("ES256").public_key).code is ErrorCode.JWK_INVALID


@pytest.mark.parametrize(
    "key",
    [
        42,
        "a password",
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "RS256"},
        [{"kty": "oct", "k": "c2hvcnQ"}],
        {"keys": "nope"},
        [],
        {"kty": "RSA"},
    ],
)
def test_unusable_lookup_keys(oct_for: Callable[[str], JWK], key: Any) -> None:
    codec = JWSCodec(oct_for("HS256"))
    assert _error(codec, codec.sign(claims()), key=key).code is ErrorCode.JWK_INVALID


def test_lookup_with_wrong_key_type_for_alg(
    pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]
) -> None:
    codec = JWSCodec(oct_for("HS256"))
    rsa = pair_for("RS256").public_key
    assert _error(codec, codec.sign(claims()), key=rsa).code is ErrorCode.JWS_ALG_NOT_ALLOWED
    # a foreign-use key in a JWK Set is skipped, not fatal
    enc = pair_for("RSA-OAEP").public_key
    assert (
        codec.decode(codec.sign(claims()), now=NOW, key={"keys": [enc, oct_for("HS256")]})["jti"] == "jti-1"
    )


def test_header_is_unverified_and_checked(oct_for: Callable[[str], JWK]) -> None:
    codec = JWSCodec(oct_for("HS256"))
    token = codec.sign(claims())
    assert codec.header(with_header(token, kid="other"))["kid"] == "other"
    with pytest.raises(SessionError) as info:
        codec.header("garbage")
    assert info.value.code is ErrorCode.JWS_INVALID


def test_rsa_key_below_2048_bits_is_refused() -> None:
    # the JWK shape is enough: the size check runs before joserfc ever imports the key
    jwk = {"kty": "RSA", "alg": "RS256", "n": "AQAB" * 10, "e": "AQAB"}
    with pytest.raises(ValueError, match="2048"):
        JWSCodec(KeyPair(public_key=jwk))
