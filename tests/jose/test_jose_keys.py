from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from jose_support import claims, header_of
from joserfc.jwe import JWERegistry
from joserfc.jwk import ECKey
from joserfc.util import urlsafe_b64decode

from litestar_jwtsession.jose import (
    JWK,
    JWECodec,
    KeyPair,
    derive_jwk_from_password,
    export_pem,
    generate_jwk,
    import_pem,
)
from litestar_jwtsession.jose.keys import _import_canonical, import_key, public_jwk, publishable_jwks

if TYPE_CHECKING:
    from collections.abc import Callable

OCT_SIZES = {
    "HS256": 32, "HS384": 48, "HS512": 64,
    "A128KW": 16, "A192KW": 24, "A256KW": 32,
    "A128GCMKW": 16, "A192GCMKW": 24, "A256GCMKW": 32,
    "A128GCM": 16, "A192GCM": 24, "A256GCM": 32,
    "A128CBC-HS256": 32, "A192CBC-HS384": 48, "A256CBC-HS512": 64,
}  # fmt: skip
PAIR_SHAPES = {
    **dict.fromkeys(
        ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "RSA-OAEP", "RSA-OAEP-256"), ("RSA", None)
    ),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),
    **dict.fromkeys(("ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"), ("EC", "P-256")),
}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}


def _b64len(value: str) -> int:
    return len(urlsafe_b64decode(value.encode()))


@pytest.mark.parametrize(("alg", "size"), OCT_SIZES.items())
def test_generate_symmetric(oct_for: Callable[[str], JWK], alg: str, size: int) -> None:
    jwk = oct_for(alg)
    assert set(jwk) == {"kty", "k", "alg", "kid"}
    assert (jwk["kty"], jwk["alg"], jwk["kid"]) == ("oct", alg, f"kid-{alg}")
    assert _b64len(jwk["k"]) == size


@pytest.mark.parametrize(("alg", "shape"), PAIR_SHAPES.items())
def test_generate_asymmetric(
    pair_for: Callable[[str], KeyPair], alg: str, shape: tuple[str, str | None]
) -> None:
    pair = pair_for(alg)
    private, public = pair.private_key, pair.public_key
    assert isinstance(private, dict)
    assert isinstance(public, dict)
    for jwk in (private, public):
        assert (jwk["kty"], jwk.get("crv"), jwk["alg"], jwk["kid"]) == (*shape, alg, f"kid-{alg}")
        assert "key_ops" not in jwk
        assert "use" not in jwk
    assert "d" in private
    assert not PRIVATE_MEMBERS & set(public)
    if shape[0] == "RSA":
        assert int.from_bytes(urlsafe_b64decode(public["n"].encode())).bit_length() == 2048


def test_generate_random_uuid_kid() -> None:
    first, second = generate_jwk("HS256"), generate_jwk("HS256")
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert uuid.UUID(first["kid"]).version == 4
    assert first["kid"] != second["kid"]
    assert first["k"] != second["k"]
    pair = generate_jwk("ES256")
    assert isinstance(pair, KeyPair)
    assert isinstance(pair.private_key, dict)
    assert isinstance(pair.public_key, dict)
    assert pair.private_key["kid"] == pair.public_key["kid"]


@pytest.mark.parametrize(
    "alg",
    ["PBES2-HS256+A128KW", "PBES2-HS384+A192KW", "PBES2-HS512+A256KW", "dir", "none", "HS1", "RSA1_5", ""],
)
def test_generate_refuses(alg: str) -> None:
    with pytest.raises(ValueError, match=r"password|'dir'|Unsupported"):
        generate_jwk(alg)


def test_keypair_validation(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    pair = pair_for("ES256")
    assert isinstance(pair.public_key, dict)
    with pytest.raises(ValueError, match="needs a private_key"):
        KeyPair()
    with pytest.raises(ValueError, match="public JWK"):
        KeyPair(private_key=pair.public_key)
    with pytest.raises(ValueError, match="oct"):
        KeyPair(private_key=oct_for("HS256"))
    with pytest.raises(ValueError, match="oct"):
        KeyPair(public_key=[pair.public_key, oct_for("HS256")])
    with pytest.raises(ValueError, match="non-empty"):
        KeyPair(public_key=[])


def test_public_jwks(pair_for: Callable[[str], KeyPair]) -> None:
    es, rs = pair_for("ES256"), pair_for("RS256")
    assert isinstance(es.private_key, dict)
    assert isinstance(es.public_key, dict)
    assert isinstance(rs.public_key, dict)
    derived = KeyPair(private_key=es.private_key).public_jwks()
    assert derived == [es.public_key]
    assert KeyPair(public_key=[es.public_key, rs.public_key]).public_jwks() == [es.public_key, rs.public_key]
    assert KeyPair(public_key={"keys": [rs.public_key]}).public_jwks() == [rs.public_key]
    # a private JWK handed over as a public key only ever comes back as its public half
    leaked = KeyPair(public_key=es.private_key).public_jwks()
    assert leaked == [es.public_key]
    for jwk in leaked:
        assert not PRIVATE_MEMBERS & set(jwk)


def test_import_cache_is_bounded_and_shared(pair_for: Callable[[str], KeyPair]) -> None:
    private = pair_for("RS256").private_key
    assert isinstance(private, dict)
    assert import_key(private) is import_key(dict(reversed(list(private.items()))))
    assert _import_canonical.cache_info().maxsize == 256
    with pytest.raises(ValueError, match="Invalid JWK"):
        import_key({"kty": "RSA", "n": "AQAB"})


@pytest.mark.parametrize("alg", ["RS256", "PS384", "RSA-OAEP-256", "ES256", "ES512", "EdDSA", "ECDH-ES"])
def test_pem_round_trip(pair_for: Callable[[str], KeyPair], alg: str) -> None:
    pair = pair_for(alg)
    assert isinstance(pair.private_key, dict)
    assert isinstance(pair.public_key, dict)
    private_pem, public_pem = export_pem(pair.private_key), export_pem(pair.public_key)
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert import_pem(private_pem, alg, kid=f"kid-{alg}") == pair.private_key
    assert import_pem(public_pem, alg, kid=f"kid-{alg}") == pair.public_key
    assert "kid" not in import_pem(public_pem, alg)


def test_import_pem_certificate() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    jwk = import_pem(cert.public_bytes(Encoding.PEM).decode(), "ES256", kid="cert")
    assert jwk == {**ECKey.import_key(private.public_key()).as_dict(), "alg": "ES256", "kid": "cert"}
    assert "d" not in jwk


def test_import_pem_type_must_fit(pair_for: Callable[[str], KeyPair]) -> None:
    es256, es384, rsa = pair_for("ES256"), pair_for("ES384"), pair_for("RS256")
    assert isinstance(es256.public_key, dict)
    assert isinstance(es384.public_key, dict)
    assert isinstance(rsa.public_key, dict)
    with pytest.raises(ValueError, match="not a usable RSA"):
        import_pem(export_pem(es256.public_key), "RS256")
    with pytest.raises(ValueError, match="Curve 'P-384'"):
        import_pem(export_pem(es384.public_key), "ES256")
    with pytest.raises(ValueError, match="not a usable OKP"):
        import_pem(export_pem(rsa.public_key), "EdDSA")
    with pytest.raises(ValueError, match="asymmetric"):
        import_pem(export_pem(rsa.public_key), "HS256")
    with pytest.raises(ValueError, match="not a usable"):
        import_pem("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", "RS256")


def test_export_pem_refuses_oct(oct_for: Callable[[str], JWK]) -> None:
    with pytest.raises(ValueError, match="oct"):
        export_pem(oct_for("HS256"))


@pytest.mark.parametrize(
    ("alg", "wrap", "size"),
    [
        ("PBES2-HS256+A128KW", "A128KW", 16),
        ("PBES2-HS384+A192KW", "A192KW", 24),
        ("PBES2-HS512+A256KW", "A256KW", 32),
    ],
)
def test_derive_jwk_from_password_shape(alg: str, wrap: str, size: int) -> None:
    jwk = derive_jwk_from_password("correct horse", alg, salt=b"saltsalt", iterations=1000)
    assert set(jwk) == {"kty", "k", "alg"}
    assert (jwk["kty"], jwk["alg"], _b64len(jwk["k"])) == ("oct", wrap, size)
    assert derive_jwk_from_password(b"correct horse", alg, salt=b"saltsalt", iterations=1000) == jwk
    assert derive_jwk_from_password("correct horse", alg, salt=b"saltsalt", iterations=1001) != jwk
    assert derive_jwk_from_password("correct horse", alg, salt=b"saltsal2", iterations=1000) != jwk


def test_derive_jwk_from_password_is_the_pbes2_kek() -> None:
    """The derived key unwraps the CEK of a real PBES2 token with that p2s/p2c."""
    token = JWECodec("correct horse battery", pbes2_iterations=1000).seal(claims())
    header = header_of(token)
    kek = derive_jwk_from_password(
        "correct horse battery",
        header["alg"],
        salt=urlsafe_b64decode(header["p2s"].encode()),
        iterations=1000,
    )
    segments = token.split(".")
    encrypted_key, iv, ciphertext, tag = (urlsafe_b64decode(s.encode()) for s in segments[1:])
    wrap = JWERegistry.algorithms["alg"][kek["alg"]]
    cek = wrap.unwrap_cek(encrypted_key, urlsafe_b64decode(kek["k"].encode()))
    plaintext = JWERegistry.algorithms["enc"]["A128GCM"].decrypt(
        ciphertext, tag, cek, iv, segments[0].encode()
    )
    assert plaintext.startswith(b'{"sub":"user-1"')
    assert header["p2c"] == 1000


@pytest.mark.parametrize(
    ("alg", "salt", "iterations", "match"),
    [
        ("A128KW", b"saltsalt", 1000, "not a PBES2"),
        ("PBES2-HS256+A128KW", b"short", 1000, "salt"),
        ("PBES2-HS256+A128KW", b"saltsalt", 0, "iterations"),
        ("PBES2-HS256+A128KW", b"saltsalt", -1, "iterations"),
        ("PBES2-HS256+A128KW", b"saltsalt", True, "iterations"),
    ],
)
def test_derive_jwk_from_password_refuses(alg: str, salt: bytes, iterations: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        derive_jwk_from_password("pw", alg, salt=salt, iterations=iterations)


# --------------------------------------------------------------------------- public halves


def test_public_jwk_keeps_an_allow_list(pair_for: Callable[[str], KeyPair]) -> None:
    for alg, members in (("RS256", {"n", "e"}), ("ES256", {"crv", "x", "y"}), ("EdDSA", {"crv", "x"})):
        private = pair_for(alg).private_key
        assert private is not None
        noisy = {**private, "use": "sig", "key_ops": ["sign"], "ext": True, "x5u": "https://example.test"}
        public = public_jwk(noisy)
        assert set(public) == {"kty", "alg", "kid", "use", *members}
        assert list(public)[:3] == ["kty", "alg", "kid"]
        assert public == public_jwk(public)  # already public: unchanged


def test_public_jwk_refuses_what_has_no_public_half(oct_for: Callable[[str], JWK]) -> None:
    secret = oct_for("HS256")
    with pytest.raises(ValueError, match="symmetric") as caught:
        public_jwk(secret)
    assert secret["k"] not in str(caught.value)
    with pytest.raises(ValueError, match="unsupported key type"):
        public_jwk({"kty": "XYZ"})
    with pytest.raises(ValueError, match="Invalid JWK"):
        public_jwk({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"})
    with pytest.raises(ValueError, match="must be a dict"):
        public_jwk(["not", "a", "key"])


def test_publishable_jwks(pair_for: Callable[[str], KeyPair], oct_for: Callable[[str], JWK]) -> None:
    es, rs = pair_for("ES256"), pair_for("RS256")
    assert publishable_jwks(es) == [es.public_key]
    assert publishable_jwks([es, {"keys": [rs.private_key, es.public_key]}]) == [es.public_key, rs.public_key]
    with pytest.raises(ValueError, match="symmetric"):
        publishable_jwks([es, oct_for("HS256")])
    with pytest.raises(ValueError, match="encryption key"):
        publishable_jwks(pair_for("RSA-OAEP-256"))
    with pytest.raises(ValueError, match="encryption key"):
        publishable_jwks({**es.public_key, "use": "enc"})
    with pytest.raises(ValueError, match="share the kid"):
        publishable_jwks([es, {**rs.public_key, "kid": es.public_key["kid"]}])
    with pytest.raises(ValueError, match="no key"):
        publishable_jwks([])
