"""Algorithm names and families, the key shapes they need, and the allow-list inferred from a key.

The joserfc registries that carry our models live in :mod:`litestar_jwtsession.jose.registries`.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from joserfc.util import urlsafe_b64decode

__all__ = (
    "JWE_CONTENT_ALGORITHMS",
    "JWE_KEY_ALGORITHMS",
    "JWS_ALGORITHMS",
    "PBES2_ALGORITHMS",
    "JWEAllowList",
    "ECDH_ALGORITHMS",
    "ECDH_KEY_TYPES",
    "KEY_CLASSES",
    "jwe_allowed_algorithms",
    "jws_allowed_algorithms",
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
ECDH_ALGORITHMS = frozenset({"ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"})
_WRAP_ALGORITHMS = frozenset({"A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW"})
JWE_KEY_ALGORITHMS = frozenset(
    {"dir", "RSA-OAEP", "RSA-OAEP-256"} | _WRAP_ALGORITHMS | ECDH_ALGORITHMS | PBES2_ALGORITHMS
)
JWE_CONTENT_ALGORITHMS = frozenset(
    {"A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"}
)

_KeyLike = Mapping[str, Any] | OctKey | RSAKey | ECKey | OKPKey
KEY_CLASSES = (OctKey, RSAKey, ECKey, OKPKey)


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
ECDH_KEY_TYPES = ("EC", "OKP")
_ECDH = _KeyShape(ECDH_KEY_TYPES, ("P-256", "P-384", "P-521", "X25519", "X448"))
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
    **dict.fromkeys(ECDH_ALGORITHMS, _ECDH),
    **{f"A{bits}{mode}": _KeyShape(("oct",), size=bits // 8, exact=True)
       for bits in (128, 192, 256) for mode in ("KW", "GCMKW", "GCM")},
    "A128CBC-HS256": _KeyShape(("oct",), size=32, exact=True),
    "A192CBC-HS384": _KeyShape(("oct",), size=48, exact=True),
    "A256CBC-HS512": _KeyShape(("oct",), size=64, exact=True),
}  # fmt: skip
_EC_JWS_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_EDDSA_JWS_BY_CURVE = {"Ed25519": frozenset({"EdDSA", "Ed25519"}), "Ed448": frozenset({"EdDSA"})}


def _fields(key: _KeyLike) -> Mapping[str, Any]:
    jwk = key.dict_value if isinstance(key, KEY_CLASSES) else key
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
        return JWEAllowList(ECDH_ALGORITHMS, encs)
    raise ValueError(f"A {kty!r} key without a JWE 'alg' needs an 'alg' (on the key or pinned).")
