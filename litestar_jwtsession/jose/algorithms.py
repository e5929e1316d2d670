"""Algorithm names, the allow-list inferred from a key, and private joserfc registries.

joserfc keeps its algorithm tables on the registry *classes*, so registering or tweaking a model
there changes every joserfc user in the process. The registries below are subclasses holding
copies of those tables; only the copies carry our PBES2 and EdDSA models.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from joserfc.errors import DecodeError, InvalidHeaderValueError, UnsupportedKeyOperationError
from joserfc.jwa import (
    AESAlgKeyWrapping,
    ECDHESAlgKeyAgreement,
    EdDSAAlgorithm,
    JWEEncModel,
    PBES2HSAlgKeyEncryption,
)
from joserfc.jwe import CompactEncryption, JWERegistry, Recipient
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderParameter, HeaderRegistryDict
from joserfc.util import to_bytes, urlsafe_b64decode, urlsafe_b64encode

from litestar_jwtsession.jose.pbes2 import KEK_CACHE, KekId, kek_id, key_encryption_key

__all__ = (
    "JWE_CONTENT_ALGORITHMS",
    "JWE_KEY_ALGORITHMS",
    "JWS_ALGORITHMS",
    "PBES2_ALGORITHMS",
    "JWEAllowList",
    "jwe_allowed_algorithms",
    "jwe_registry",
    "jws_allowed_algorithms",
    "jws_registry",
    "without_empty_key_ops",
)

JWS_ALGORITHMS = frozenset(
    {
        "HS256", "HS384", "HS512",
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA", "Ed25519",
    }
)  # fmt: skip
PBES2_ALGORITHMS = frozenset({"PBES2-HS256+A128KW", "PBES2-HS384+A192KW", "PBES2-HS512+A256KW"})
_ECDH_ALGORITHMS = frozenset({"ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"})
_WRAP_ALGORITHMS = frozenset({"A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW"})
JWE_KEY_ALGORITHMS = frozenset(
    {"dir", "RSA-OAEP", "RSA-OAEP-256"} | _WRAP_ALGORITHMS | _ECDH_ALGORITHMS | PBES2_ALGORITHMS
)
JWE_CONTENT_ALGORITHMS = frozenset(
    {"A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"}
)

_KeyLike = Mapping[str, Any] | OctKey | RSAKey | ECKey | OKPKey
_KEY_CLASSES = (OctKey, RSAKey, ECKey, OKPKey)


# --------------------------------------------------------------------------- key shapes


@dataclass(frozen=True, slots=True)
class _KeyShape:
    """What a key must look like for one algorithm; the first kty/curve is what we generate."""

    kty: tuple[str, ...]
    curves: tuple[str, ...] = ()
    size: int = 0  # oct: bytes (exact or minimum); RSA: minimum modulus bits
    exact: bool = False

    @property
    def generate_arg(self) -> int | str:
        """The ``crv_or_size`` argument of ``joserfc.jwk.generate_key``."""
        if self.curves:
            return self.curves[0]
        return self.size * 8 if self.kty[0] == "oct" else self.size


# unjwt's key-strength floor: RSA >= 2048 bits, HMAC keys at least as long as the hash
_RSA = _KeyShape(("RSA",), size=2048)
_ECDH = _KeyShape(("EC", "OKP"), ("P-256", "P-384", "P-521", "X25519", "X448"))
_KEY_SHAPES: dict[str, _KeyShape] = {
    **{f"HS{bits}": _KeyShape(("oct",), size=bits // 8) for bits in (256, 384, 512)},
    **{f"{family}{bits}": _RSA for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": _KeyShape(("EC",), ("P-256",)),
    "ES384": _KeyShape(("EC",), ("P-384",)),
    "ES512": _KeyShape(("EC",), ("P-521",)),
    "EdDSA": _KeyShape(("OKP",), ("Ed25519", "Ed448")),
    "Ed25519": _KeyShape(("OKP",), ("Ed25519",)),
    "RSA-OAEP": _RSA,
    "RSA-OAEP-256": _RSA,
    **dict.fromkeys(_ECDH_ALGORITHMS, _ECDH),
    **{f"A{bits}{mode}": _KeyShape(("oct",), size=bits // 8, exact=True)
       for bits in (128, 192, 256) for mode in ("KW", "GCMKW", "GCM")},
    "A128CBC-HS256": _KeyShape(("oct",), size=32, exact=True),
    "A192CBC-HS384": _KeyShape(("oct",), size=48, exact=True),
    "A256CBC-HS512": _KeyShape(("oct",), size=64, exact=True),
}  # fmt: skip
_EC_JWS_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_EDDSA_JWS_BY_CURVE = {"Ed25519": frozenset({"EdDSA", "Ed25519"}), "Ed448": frozenset({"EdDSA"})}


def _fields(key: _KeyLike) -> Mapping[str, Any]:
    jwk = key.dict_value if isinstance(key, _KEY_CLASSES) else key
    if not isinstance(jwk, Mapping):
        raise ValueError(f"A JWK must be a dict, got {type(jwk).__name__}.")
    if any(not isinstance(jwk.get(name, ""), str) for name in ("kty", "crv", "alg")):
        raise ValueError("The JWK members 'kty', 'crv' and 'alg' must be strings.")
    return jwk


def _b64_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("key material is missing")
    try:
        return urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise ValueError("key material is not base64url") from exc


def _check_fits(alg: str, jwk: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``jwk`` has the type, curve and size ``alg`` needs."""
    shape = _KEY_SHAPES[alg]
    kty = jwk.get("kty")
    if kty not in shape.kty:
        raise ValueError(f"A {kty!r} key cannot be used with {alg!r} (needs {'/'.join(shape.kty)}).")
    if shape.curves and jwk.get("crv") not in shape.curves:
        raise ValueError(f"Curve {jwk.get('crv')!r} cannot be used with {alg!r}.")
    if kty == "oct":
        size = len(_b64_bytes(jwk.get("k")))
        if size != shape.size if shape.exact else size < shape.size:
            need = "exactly" if shape.exact else "at least"
            raise ValueError(f"{alg!r} needs a key of {need} {shape.size} bytes, got {size}.")
    elif kty == "RSA":
        bits = int.from_bytes(_b64_bytes(jwk.get("n")), "big").bit_length()
        if bits < shape.size:
            raise ValueError(f"{alg!r} needs an RSA key of at least {shape.size} bits, got {bits}.")


def _declared_alg(jwk: Mapping[str, Any], family: frozenset[str], what: str) -> str | None:
    alg = jwk.get("alg")
    if alg is None:
        return None
    if alg not in family:
        raise ValueError(f"Key algorithm {alg!r} is not a {what} algorithm.")
    _check_fits(alg, jwk)
    return str(alg)


def _pin(allowed: frozenset[str], pinned: str | None, what: str) -> frozenset[str]:
    if pinned is None:
        return allowed
    if pinned not in allowed:
        raise ValueError(f"{what} {pinned!r} is not allowed for this key (allowed: {sorted(allowed)}).")
    return frozenset({pinned})


# --------------------------------------------------------------------------- allow-lists


def jws_allowed_algorithms(key: _KeyLike, *, alg: str | None = None) -> frozenset[str]:
    """The JWS algorithms ``key`` may verify or sign, optionally pinned to ``alg``.

    A key's own ``alg`` is authoritative; without one, EC keys map by curve and Ed25519 keys to
    ``EdDSA``/``Ed25519``. RSA and oct keys need an ``alg`` (on the key or pinned).
    """
    jwk = _fields(key)
    if alg is not None and alg not in JWS_ALGORITHMS:
        raise ValueError(f"{alg!r} is not a supported JWS algorithm.")
    declared = _declared_alg(jwk, JWS_ALGORITHMS, "JWS")
    if declared is not None:
        return _pin(frozenset({declared}), alg, "alg")
    if alg is not None:
        _check_fits(alg, jwk)
        return frozenset({alg})
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "EC" and crv in _EC_JWS_BY_CURVE:
        return frozenset({_EC_JWS_BY_CURVE[crv]})
    if kty == "OKP" and crv in _EDDSA_JWS_BY_CURVE:
        return _EDDSA_JWS_BY_CURVE[crv]
    raise ValueError(f"A {kty!r} key without a JWS 'alg' needs an 'alg' (on the key or pinned).")


class JWEAllowList(NamedTuple):
    """Key-management algorithms and content ciphers one JWE key accepts."""

    algs: frozenset[str]
    encs: frozenset[str]


def jwe_allowed_algorithms(
    key: str | _KeyLike, *, alg: str | None = None, enc: str | None = None
) -> JWEAllowList:
    """The JWE ``alg``/``enc`` values ``key`` may use, optionally pinned.

    A password allows the three PBES2 algorithms and never ``dir``; an oct key allows exactly its
    own wrapping ``alg``, or ``dir`` with exactly its cipher when its ``alg`` is a content cipher.
    """
    if alg is not None and alg not in JWE_KEY_ALGORITHMS:
        raise ValueError(f"{alg!r} is not a supported JWE key-management algorithm.")
    if enc is not None and enc not in JWE_CONTENT_ALGORITHMS:
        raise ValueError(f"{enc!r} is not a supported JWE content encryption algorithm.")
    if isinstance(key, str):
        return JWEAllowList(_pin(PBES2_ALGORITHMS, alg, "alg"), _pin(JWE_CONTENT_ALGORITHMS, enc, "enc"))
    jwk = _fields(key)
    declared = jwk.get("alg")
    if declared in JWE_CONTENT_ALGORITHMS:
        _check_fits(declared, jwk)
        return JWEAllowList(_pin(frozenset({"dir"}), alg, "alg"), _pin(frozenset({declared}), enc, "enc"))
    encs = _pin(JWE_CONTENT_ALGORITHMS, enc, "enc")
    if declared in PBES2_ALGORITHMS:
        raise ValueError("PBES2 keys are passwords: pass the password string, not a JWK.")
    checked = _declared_alg(jwk, JWE_KEY_ALGORITHMS - PBES2_ALGORITHMS - {"dir"}, "JWE key-management")
    if checked is not None:
        return JWEAllowList(_pin(frozenset({checked}), alg, "alg"), encs)
    if alg == "dir":
        if enc is None:
            raise ValueError("A 'dir' key needs a pinned 'enc' (or a content cipher as its 'alg').")
        _check_fits(enc, jwk)
        return JWEAllowList(frozenset({"dir"}), encs)
    if alg is not None:
        if alg in PBES2_ALGORITHMS:
            raise ValueError("PBES2 needs a password string as the key.")
        _check_fits(alg, jwk)
        return JWEAllowList(frozenset({alg}), encs)
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty in _ECDH.kty and crv in _ECDH.curves:
        return JWEAllowList(_ECDH_ALGORITHMS, encs)
    raise ValueError(f"A {kty!r} key without a JWE 'alg' needs an 'alg' (on the key or pinned).")


# --------------------------------------------------------------------------- private models


def _is_iteration_count(value: Any) -> None:
    # the policy (which counts are accepted) lives on each registry instance; this only keeps
    # PBKDF2 from seeing a value it would crash on
    if type(value) is not int or value < 1:
        raise ValueError("must be a positive integer")


class _PBES2Algorithm(PBES2HSAlgKeyEncryption):
    """joserfc's PBES2 without its hard-coded ``p2c <= 300000`` (unjwt writes 600000), taking its
    key-encryption keys from :mod:`litestar_jwtsession.jose.pbes2`.

    ``compute_derived_key`` (joserfc's PBKDF2) is what costs: about 100 ms at 600000 rounds. A key
    is remembered after it wrapped one of our content keys or unwrapped a token's (AES key wrap
    checks integrity, so a forged token never gets its key remembered); within ``pbes2.offering``
    a missing key is derived by the caller's pool, never here. The count policy is enforced
    before this runs.
    """

    more_header_registry = {  # noqa: RUF012
        "p2s": HeaderParameter("PBES2 Salt Input", "str", True),
        "p2c": HeaderParameter("PBES2 Count", _is_iteration_count, True),
    }

    def _kek(self, recipient: Recipient[OctKey], p2s: bytes, p2c: int) -> tuple[KekId, bytes]:
        key = recipient.recipient_key
        assert key is not None
        self.check_key_type(key)
        password = key.get_op_key("deriveKey")
        kid = kek_id(self.name, password, p2s, p2c)
        return kid, key_encryption_key(kid, partial(self.compute_derived_key, password, p2s, p2c))

    def encrypt_cek(self, cek: bytes, recipient: Recipient[OctKey]) -> bytes:
        # joserfc's, but for where the key comes from and that it is remembered
        headers = recipient.headers()
        if "p2s" in headers:
            p2s = urlsafe_b64decode(to_bytes(headers["p2s"]))
        else:
            p2s = secrets.token_bytes(16)
            recipient.add_header("p2s", urlsafe_b64encode(p2s).decode("ascii"))
        if "p2c" not in headers:
            recipient.add_header("p2c", self.DEFAULT_P2C)
        kid, kek = self._kek(recipient, p2s, headers.get("p2c", self.DEFAULT_P2C))
        wrapped = self.key_wrapping.wrap_cek(cek, kek)
        KEK_CACHE.put(kid, kek)  # our own token: this process reads it back without deriving
        return wrapped

    def decrypt_cek(self, recipient: Recipient[OctKey]) -> bytes:
        headers = recipient.headers()
        kid, kek = self._kek(recipient, urlsafe_b64decode(to_bytes(headers["p2s"])), headers["p2c"])
        if recipient.encrypted_key is None:
            raise DecodeError("Invalid encrypted key")
        cek = self.key_wrapping.unwrap_cek(recipient.encrypted_key, kek)  # raises for a forged token
        KEK_CACHE.put(kid, kek)
        return cek


class _EdDSAAlgorithm(EdDSAAlgorithm):
    """``EdDSA`` without joserfc's deprecation warning: it is what unjwt writes."""

    security_warning = None  # type: ignore[assignment]  # joserfc narrows it to str here


def without_empty_key_ops(jwk: Mapping[str, Any]) -> Mapping[str, Any]:
    """``jwk`` without an *empty* ``key_ops`` when it is a public ECDH key; else ``jwk`` itself.

    WebCrypto exports an ECDH public key with ``key_ops: []`` (such a key has no usages), and unjwt
    0.7.3 writes that into its ECDH-ES public JWKs and into the ``epk`` header of every ECDH-ES
    token; joserfc reads ``[]`` as "no operation allowed" and refuses the key agreement. Only that
    exact shape is rewritten: a public ``EC``/``OKP`` key (no ``d``) whose ``alg`` is absent (an
    ``epk``) or an ECDH-ES algorithm. A non-empty ``key_ops`` is kept, so one that does not allow
    the operation is still refused.
    """
    alg = jwk.get("alg")
    if (
        jwk.get("key_ops") == []
        and jwk.get("kty") in _ECDH.kty
        and "d" not in jwk
        and (alg is None or alg in _ECDH_ALGORITHMS)
    ):
        return {name: value for name, value in jwk.items() if name != "key_ops"}
    return jwk


class _ECDHESAlgorithm(ECDHESAlgKeyAgreement):
    """joserfc's ECDH-ES reading unjwt's ``epk`` (see :func:`without_empty_key_ops`)."""

    def decrypt_agreed_upon_key(self, enc: JWEEncModel, recipient: Recipient[ECKey]) -> bytes:
        headers = recipient.headers()
        epk = headers.get("epk")
        if isinstance(epk, Mapping) and (normalised := without_empty_key_ops(epk)) is not epk:
            # a view with the rewritten epk: the token's own header (and so the AAD) is untouched
            recipient = Recipient(
                CompactEncryption({**headers, "epk": normalised}), recipient_key=recipient.recipient_key
            )
        try:
            derived: bytes = super().decrypt_agreed_upon_key(enc, recipient)
        except UnsupportedKeyOperationError as exc:
            # our private key's key_ops are not consulted here: the refusal is about the token's epk
            message = f"'epk' cannot be used for key agreement: {exc.description}"
            raise InvalidHeaderValueError(message) from exc
        return derived


def _stock_wrapping(name: str) -> AESAlgKeyWrapping:
    model = JWERegistry.algorithms["alg"][name]
    assert isinstance(model, AESAlgKeyWrapping)
    return model


_ECDH_MODELS: dict[str, _ECDHESAlgorithm] = {
    model.name: model
    for model in (
        _ECDHESAlgorithm(None),
        _ECDHESAlgorithm(_stock_wrapping("A128KW")),
        _ECDHESAlgorithm(_stock_wrapping("A192KW")),
        _ECDHESAlgorithm(_stock_wrapping("A256KW")),
    )
}

_PBES2_MODELS: dict[str, _PBES2Algorithm] = {
    model.name: model
    for model in (
        _PBES2Algorithm(256, _stock_wrapping("A128KW")),
        _PBES2Algorithm(384, _stock_wrapping("A192KW")),
        _PBES2Algorithm(512, _stock_wrapping("A256KW")),
    )
}


class _JWSRegistry(JWSRegistry):
    # without ``b64`` a token asking for an RFC 7797 unencoded payload is refused: we never write one
    default_header_registry = {k: v for k, v in JWS_HEADER_REGISTRY.items() if k != "b64"}  # noqa: RUF012
    algorithms = {**JWSRegistry.algorithms, "EdDSA": _EdDSAAlgorithm()}  # noqa: RUF012
    recommended = list(JWSRegistry.recommended)  # noqa: RUF012


class _JWERegistry(JWERegistry):
    algorithms = {  # noqa: RUF012
        "alg": {**JWERegistry.algorithms["alg"], **_ECDH_MODELS, **_PBES2_MODELS},
        "enc": dict(JWERegistry.algorithms["enc"]),
        "zip": {},  # compression is refused: never written, and only adds attack surface
    }
    recommended = list(JWERegistry.recommended)  # noqa: RUF012


def _checked(names: Collection[str], family: frozenset[str], what: str) -> list[str]:
    if isinstance(names, str):
        raise TypeError(f"{what} must be a collection of names, not a string.")
    unknown = set(names) - family
    if unknown:
        raise ValueError(f"Unsupported {what}: {sorted(unknown)}.")
    if not names:
        raise ValueError(f"At least one {what} is needed.")
    return sorted(set(names))


def jws_registry(algs: Collection[str]) -> JWSRegistry:
    """A joserfc JWS registry allowing exactly ``algs`` (never ``none``).

    Unknown non-critical header parameters are ignored (RFC 7515 §4, as unjwt does).
    """
    allowed = _checked(algs, JWS_ALGORITHMS, "JWS algorithms")
    return _JWSRegistry(algorithms=allowed, strict_check_header=False)


def _p2c_policy(p2c_range: tuple[int, int]) -> HeaderParameter:
    low, high = p2c_range

    def validate(value: Any) -> None:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"must be an integer in [{low}, {high}]")

    return HeaderParameter("PBES2 Count", validate)


def jwe_registry(
    algs: Collection[str], encs: Collection[str], *, p2c_range: tuple[int, int] | None
) -> JWERegistry:
    """A joserfc JWE registry allowing exactly ``algs`` and ``encs`` (no ``zip``).

    With PBES2 in ``algs``, ``p2c_range`` (inclusive) is required; joserfc checks it before the
    algorithm and before any key derivation, so a forged count costs no PBKDF2 run.
    """
    allowed = _checked(algs, JWE_KEY_ALGORITHMS, "JWE key-management algorithms")
    allowed += _checked(encs, JWE_CONTENT_ALGORITHMS, "JWE content encryption algorithms")
    header_registry: HeaderRegistryDict = {}
    if p2c_range is not None:
        low, high = p2c_range
        if type(low) is not int or type(high) is not int or not 1 <= low <= high:
            raise ValueError(f"Invalid PBES2 iteration range {p2c_range!r}.")
        header_registry["p2c"] = _p2c_policy(p2c_range)
    elif PBES2_ALGORITHMS.intersection(allowed):
        raise ValueError("PBES2 needs a p2c_range.")
    return _JWERegistry(header_registry=header_registry, algorithms=allowed, strict_check_header=False)
