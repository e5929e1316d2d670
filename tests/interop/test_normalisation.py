"""The one key normalisation interop needs, and that it weakens nothing (no Node needed).

unjwt 0.7.3 writes WebCrypto's ``key_ops: []`` into its ECDH-ES public JWKs and into the ``epk``
header of every ECDH-ES token. joserfc reads an empty ``key_ops`` as "no operation allowed" and
refuses the key agreement ("Unsupported key_op 'deriveKey'"). ``without_empty_key_ops`` drops
exactly that empty list from public ECDH keys (and ``epk`` headers); a non-empty ``key_ops`` that
does not allow the operation is still refused.

The tokens here are forged with joserfc's lower layers so the ``epk`` carries any ``key_ops``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from joserfc import jwe
from joserfc._rfc7516.compact import represent_compact
from joserfc._rfc7516.message import perform_encrypt
from joserfc.errors import UnsupportedKeyOperationError
from joserfc.jwe import CompactEncryption, JWERegistry, Recipient
from joserfc.jwk import ECKey, JWKRegistry, OKPKey
from joserfc.util import urlsafe_b64decode

from litestar_jwtsession import ErrorCode, KeyPair, SessionError, generate_jwk
from litestar_jwtsession.jose import JWECodec, JWSCodec
from litestar_jwtsession.jose.registries import without_empty_key_ops

ECDH_ALGS = ("ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW")
CURVES = {"EC": "P-256", "OKP": "X25519"}


def _claims() -> dict[str, Any]:
    return {"jti": "epk-test", "iat": int(time.time()), "sub": "alice"}


def _ecdh_pair(alg: str, kty: str) -> KeyPair:
    key = JWKRegistry.generate_key(kty, CURVES[kty], {"alg": alg, "kid": "ecdh"})  # type: ignore[arg-type]
    return KeyPair(private_key=dict(key.as_dict(private=True)), public_key=dict(key.as_dict(private=False)))


def _forge(pair: KeyPair, alg: str, epk_key_ops: list[str] | None) -> str:
    """An ECDH-ES JWE in unjwt's header shape whose ``epk`` carries ``epk_key_ops`` (None: absent)."""
    assert isinstance(pair.public_key, dict)
    recipient_key = JWKRegistry.import_key(pair.public_key)
    assert isinstance(recipient_key, ECKey | OKPKey)
    ephemeral = dict(recipient_key.generate_key(recipient_key.curve_name, private=True).as_dict(private=True))
    if epk_key_ops is not None:
        ephemeral["key_ops"] = epk_key_ops
    header = {"kid": "ecdh", "typ": "JWT", "cty": "application/json", "alg": alg, "enc": "A128GCM"}
    obj = CompactEncryption(header, b'{"jti":"epk-test","iat":%d,"sub":"alice"}' % int(time.time()))
    recipient: Recipient[Any] = Recipient(obj, recipient_key=recipient_key)
    recipient.ephemeral_key = JWKRegistry.import_key(ephemeral)
    obj.recipient = recipient
    perform_encrypt(obj, JWERegistry(algorithms=[alg, "A128GCM"]))
    token = represent_compact(obj).decode("ascii")
    epk = json.loads(urlsafe_b64decode(token.split(".")[0].encode("ascii")))["epk"]
    assert epk.get("key_ops") == epk_key_ops  # the header really carries what the test is about
    return token


# --------------------------------------------------------------------------- the function


PUBLIC_P256 = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}


@pytest.mark.parametrize(
    ("jwk", "dropped"),
    [
        pytest.param({**PUBLIC_P256, "key_ops": []}, True, id="epk-shape"),
        pytest.param({**PUBLIC_P256, "alg": "ECDH-ES+A256KW", "key_ops": []}, True, id="ecdh-public-key"),
        pytest.param({"kty": "OKP", "crv": "X25519", "x": "x", "key_ops": []}, True, id="x25519-epk"),
        pytest.param({**PUBLIC_P256, "key_ops": ["verify"]}, False, id="non-empty-kept"),
        pytest.param({**PUBLIC_P256, "key_ops": ["deriveKey"]}, False, id="allowing-kept"),
        pytest.param({**PUBLIC_P256, "d": "d", "key_ops": []}, False, id="private-key-kept"),
        pytest.param({**PUBLIC_P256, "alg": "ES256", "key_ops": []}, False, id="signature-key-kept"),
        pytest.param({"kty": "RSA", "n": "n", "e": "AQAB", "key_ops": []}, False, id="rsa-kept"),
        pytest.param({"kty": "oct", "k": "k", "key_ops": []}, False, id="oct-kept"),
        pytest.param({**PUBLIC_P256, "key_ops": None}, False, id="null-kept"),
        pytest.param(PUBLIC_P256, False, id="absent"),
    ],
)
def test_without_empty_key_ops(jwk: dict[str, Any], dropped: bool) -> None:
    result = without_empty_key_ops(jwk)
    if dropped:
        assert result == {k: v for k, v in jwk.items() if k != "key_ops"}
        assert "key_ops" in jwk  # the input is never changed
    else:
        assert result is jwk


# --------------------------------------------------------------------------- the epk header


@pytest.mark.parametrize("kty", ["EC", "OKP"])
@pytest.mark.parametrize("alg", ECDH_ALGS)
def test_epk_with_empty_key_ops_is_read(alg: str, kty: str) -> None:
    pair = _ecdh_pair(alg, kty)
    token = _forge(pair, alg, [])
    # stock joserfc refuses it: this is what the normalisation is for
    private = JWKRegistry.import_key(pair.private_key)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedKeyOperationError, match="deriveKey"):
        jwe.decrypt_compact(token, private, algorithms=[alg, "A128GCM"])
    claims = JWECodec(pair).decode(token, now=time.time())
    assert (claims["jti"], claims["sub"]) == ("epk-test", "alice")


@pytest.mark.parametrize("key_ops", [None, ["deriveKey"]], ids=["absent", "deriveKey"])
def test_epk_allowing_derivation_is_read(key_ops: list[str] | None) -> None:
    pair = _ecdh_pair("ECDH-ES+A256KW", "EC")
    token = _forge(pair, "ECDH-ES+A256KW", key_ops)
    assert JWECodec(pair).decode(token, now=time.time())["sub"] == "alice"


@pytest.mark.parametrize("kty", ["EC", "OKP"])
@pytest.mark.parametrize("key_ops", [["verify"], ["deriveBits"], ["encrypt", "wrapKey"]])
def test_epk_forbidding_derivation_is_refused(key_ops: list[str], kty: str) -> None:
    """Never weaker: a non-empty key_ops without ``deriveKey`` still refuses the token."""
    pair = _ecdh_pair("ECDH-ES+A256KW", kty)
    token = _forge(pair, "ECDH-ES+A256KW", key_ops)
    with pytest.raises(SessionError) as caught:
        JWECodec(pair).decode(token, now=time.time())
    # an invalid token (its header), not a problem of our key
    assert caught.value.code is ErrorCode.JWE_INVALID
    assert "epk" in str(caught.value)


# --------------------------------------------------------------------------- imported public keys


def test_ecdh_public_key_with_empty_key_ops_seals() -> None:
    """unjwt's ECDH-ES public JWK (``key_ops: []``) encrypts here, as it is."""
    pair = _ecdh_pair("ECDH-ES+A256KW", "EC")
    assert isinstance(pair.public_key, dict)
    unjwt_style = KeyPair(private_key=pair.private_key, public_key={**pair.public_key, "key_ops": []})
    codec = JWECodec(unjwt_style)
    token = codec.seal(_claims())
    assert codec.decode(token, now=time.time())["sub"] == "alice"
    assert unjwt_style.public_key["key_ops"] == []  # type: ignore[index]  # the caller's dict is untouched


def test_ecdh_public_key_forbidding_derivation_does_not_seal() -> None:
    pair = _ecdh_pair("ECDH-ES+A256KW", "EC")
    assert isinstance(pair.public_key, dict)
    codec = JWECodec(
        KeyPair(private_key=pair.private_key, public_key={**pair.public_key, "key_ops": ["verify"]})
    )
    with pytest.raises(SessionError) as caught:
        codec.seal(_claims())
    assert caught.value.code is ErrorCode.TOKEN_ENCODE_FAILED


def test_signature_public_key_with_empty_key_ops_is_still_refused() -> None:
    """The normalisation is for ECDH keys only: an ES256 key allowing nothing verifies nothing."""
    pair = generate_jwk("ES256")
    assert isinstance(pair, KeyPair)
    assert isinstance(pair.public_key, dict)
    token = JWSCodec(pair).sign(_claims())
    locked = JWSCodec(KeyPair(private_key=pair.private_key, public_key={**pair.public_key, "key_ops": []}))
    with pytest.raises(SessionError) as caught:
        locked.decode(token, now=time.time())
    assert caught.value.code is ErrorCode.JWK_INVALID
