"""JWK helpers: generation, PEM import/export, password derivation, public halves, and the key-pair
container.

JWKs are plain RFC 7517 dicts in the public API; joserfc key objects stay an implementation detail
(imported once and cached, because an RSA private import costs ~36 ms).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import uuid4

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, KeyParameters, OctKey, OKPKey, RSAKey
from joserfc.util import urlsafe_b64encode

from litestar_jwtsession.jose.algorithms import (
    _KEY_SHAPES,
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    KEY_CLASSES,
    PBES2_ALGORITHMS,
    _check_fits,
)
from litestar_jwtsession.jose.registries import PBES2_MODELS, without_empty_key_ops

__all__ = (
    "JWK",
    "KEY_CLASSES",
    "Key",
    "KeyPair",
    "derive_jwk_from_password",
    "export_pem",
    "generate_jwk",
    "import_key",
    "import_pem",
    "public_jwk",
    "public_key",
    "publishable_jwks",
)

JWK = dict[str, Any]
"""A JSON Web Key as a plain dict (RFC 7517)."""

Key = OctKey | RSAKey | ECKey | OKPKey
"""A joserfc key object (what the codecs work with)."""
_ASYMMETRIC = frozenset({"RSA", "EC", "OKP"})


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An asymmetric key pair; either half may be missing, not both.

    ``private_key`` signs (JWS) or decrypts (JWE). ``public_key`` verifies or encrypts and may be one
    JWK, a list of JWKs or a JWK Set ``{"keys": [...]}`` (key rotation); without it, the public half
    of ``private_key`` is used.
    """

    private_key: JWK | None = None
    public_key: JWK | list[JWK] | dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.private_key is None and self.public_key is None:
            raise ValueError("A KeyPair needs a private_key, a public_key, or both.")
        if self.private_key is not None:
            _check_asymmetric(self.private_key, "private_key")
            if "d" not in self.private_key:
                raise ValueError("private_key is a public JWK (it has no 'd' member).")
        for jwk in self.public_members():
            _check_asymmetric(jwk, "public_key")

    def public_members(self) -> list[JWK]:
        """The JWKs given as ``public_key``, flattened (a JWK Set's ``keys``, a list, or one JWK)."""
        public = self.public_key
        if public is None:
            return []
        members: Any = public.get("keys") if isinstance(public, dict) and "keys" in public else public
        members = [members] if isinstance(members, dict) else members
        if not isinstance(members, list) or not members:
            raise ValueError("public_key must be a JWK, a non-empty list of JWKs, or a JWK Set.")
        return members

    def public_jwks(self) -> list[JWK]:
        """The public half of every public key (or of ``private_key`` when there is none)."""
        sources = self.public_members() or ([] if self.private_key is None else [self.private_key])
        return [public_jwk(jwk) for jwk in sources]


def _check_asymmetric(jwk: Any, what: str) -> None:
    if not isinstance(jwk, dict):
        raise ValueError(f"{what} must be a JWK dict, got {type(jwk).__name__}.")
    if jwk.get("kty") not in _ASYMMETRIC:
        raise ValueError(f"{what} must be an RSA, EC or OKP JWK (oct keys are used on their own).")


# --------------------------------------------------------------------------- import cache


def import_key(value: JWK | Key) -> Key:
    """A joserfc key for ``value`` (passed through if it already is one); ``ValueError`` if invalid."""
    if isinstance(value, KEY_CLASSES):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"A JWK must be a dict, got {type(value).__name__}.")
    try:
        # unjwt's ECDH-ES public JWKs carry WebCrypto's `key_ops: []`, which joserfc would refuse
        canonical = json.dumps(without_empty_key_ops(value), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Invalid JWK: {exc}") from exc
    return _import_canonical(canonical)


@lru_cache(maxsize=256)
def _import_canonical(canonical: str) -> Key:
    try:
        return JWKRegistry.import_key(json.loads(canonical))
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"Invalid JWK: {exc}") from exc


def public_key(key: Key) -> Key:
    """The public half of an asymmetric key (a cached import of its public JWK)."""
    if isinstance(key, OctKey):
        raise ValueError("An oct key has no public half.")
    return import_key(public_jwk(dict(key.as_dict(private=False)))) if key.is_private else key


def _ordered(jwk: JWK) -> JWK:
    # kty first, then alg/kid, then the key material: the usual reading order of a JWK
    head: JWK = {name: jwk[name] for name in ("kty", "alg", "kid") if name in jwk}
    return {**head, **jwk}


# --------------------------------------------------------------------------- public helpers


def generate_jwk(alg: str, *, kid: str | None = None) -> JWK | KeyPair:
    """A fresh key for ``alg``: an oct JWK for symmetric algorithms, else a :class:`KeyPair`.

    Every JWK carries ``alg`` and ``kid`` (a random UUID unless given; both halves share it) and
    no ``key_ops``/``use``, so it imports in unjwt as is.
    """
    shape = _KEY_SHAPES.get(alg)
    if shape is None:
        if alg in PBES2_ALGORITHMS:
            raise ValueError(
                f"{alg!r} uses a password: pass the password string, or derive_jwk_from_password()."
            )
        if alg in ("dir", "none"):
            raise ValueError(
                f"No key can be generated for {alg!r}; for 'dir' generate the content cipher's key."
            )
        raise ValueError(f"Unsupported algorithm {alg!r}.")
    parameters: KeyParameters = {"alg": alg, "kid": str(uuid4()) if kid is None else kid}
    key = JWKRegistry.generate_key(shape.kty[0], shape.generate_arg, parameters)
    private = _ordered(dict(key.as_dict(private=True)))
    if isinstance(key, OctKey):
        return private
    return KeyPair(private_key=private, public_key=public_jwk(private))


def import_pem(pem: str, alg: str, *, kid: str | None = None) -> JWK:
    """A JWK from a PEM private key (PKCS#8 or traditional), public key (SPKI) or certificate."""
    shape = _KEY_SHAPES.get(alg)
    if shape is None or shape.kty == ("oct",):
        raise ValueError(f"import_pem needs an asymmetric algorithm, got {alg!r}.")
    key = _load_pem(pem.encode("utf-8"), shape.kty)
    jwk: JWK = {**key.as_dict(private=key.is_private), "alg": alg}
    if kid is not None:
        jwk["kid"] = kid
    jwk = _ordered(jwk)
    _check_fits(alg, jwk)
    return jwk


def _load_pem(data: bytes, key_types: tuple[str, ...]) -> Key:
    for kty in key_types:
        try:
            return JWKRegistry.import_key(data, kty)
        except (JoseError, ValueError, TypeError):
            continue
    raise ValueError(f"The PEM is not a usable {'/'.join(key_types)} key.")


def export_pem(jwk: JWK) -> str:
    """PEM text for ``jwk``: PKCS#8 for a private key, SubjectPublicKeyInfo for a public one."""
    key = import_key(jwk)
    if isinstance(key, OctKey):
        raise ValueError("oct keys have no PEM form.")
    return key.as_pem(private=key.is_private).decode("ascii")


def derive_jwk_from_password(password: str | bytes, alg: str, *, salt: bytes, iterations: int) -> JWK:
    """The AES key-wrapping JWK a PBES2 token with ``p2s=salt`` and ``p2c=iterations`` uses.

    PBKDF2 runs over the RFC 7518 salt ``UTF8(alg) || 0x00 || salt``, exactly as joserfc does.
    """
    model = PBES2_MODELS.get(alg)
    if model is None:
        raise ValueError(f"{alg!r} is not a PBES2 algorithm ({', '.join(sorted(PBES2_ALGORITHMS))}).")
    if not isinstance(salt, bytes) or len(salt) < 8:
        raise ValueError("salt must be at least 8 bytes.")
    if type(iterations) is not int or iterations < 1:
        raise ValueError("iterations must be a positive integer.")
    secret = password.encode("utf-8") if isinstance(password, str) else password
    if not secret:
        raise ValueError("password must not be empty.")
    derived = model.compute_derived_key(secret, salt, iterations)
    return {"kty": "oct", "k": urlsafe_b64encode(derived).decode("ascii"), "alg": model.key_wrapping.name}


# --------------------------------------------------------------------------- public halves

# What a public JWK keeps: the public key material of its type, plus metadata. An allow-list, so
# a private member of any name (``d``, ``p``, ``oth``, a vendor's) never survives. ``key_ops`` is
# dropped too: a private key's (e.g. unjwt's ["sign"]) name the private half's operations.
_PUBLIC_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("n", "e"),
    "EC": ("crv", "x", "y"),
    "OKP": ("crv", "x"),
}
_METADATA = ("kty", "alg", "kid", "use")
_ENCRYPTION_ALGORITHMS = JWE_KEY_ALGORITHMS | JWE_CONTENT_ALGORITHMS


def _describe(jwk: Mapping[str, Any]) -> str:
    kid = jwk.get("kid")
    return f"key {kid!r}" if isinstance(kid, str) else "a key without kid"


def public_jwk(jwk: Mapping[str, Any]) -> JWK:
    """The public half of one asymmetric JWK (private or public): its key type's public members
    plus ``kty``, ``alg``, ``kid`` and ``use``, and nothing else.

    Raises:
        ValueError: for an oct (symmetric) key, whose ``k`` member *is* the secret, a key type
            other than RSA, EC or OKP, or a malformed key.
    """
    if not isinstance(jwk, Mapping):
        raise ValueError(f"A JWK must be a dict, got {type(jwk).__name__}.")
    kty = jwk.get("kty")
    if kty == "oct":
        raise ValueError(
            f"{_describe(jwk)} is a symmetric (oct) key: it has no public half, its 'k' member is the "
            "secret itself"
        )
    members = _PUBLIC_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise ValueError(f"{_describe(jwk)} has an unsupported key type {kty!r}")
    public = _ordered({name: jwk[name] for name in (*_METADATA, *members) if name in jwk})
    # the given key must be well formed (not only the members kept), and so must the result
    import_key(dict(jwk))
    import_key(public)
    return public


def publishable_jwks(keys: Iterable[Any] | KeyPair | Mapping[str, Any]) -> list[JWK]:
    """The public JWKs that let others verify signatures made with ``keys``, for a JWK Set.

    ``keys`` is one JWK, a :class:`KeyPair`, a JWK Set ``{"keys": [...]}``, or an iterable of
    those. Each key becomes its :func:`public_jwk`; identical keys are listed once.

    Raises:
        ValueError: for an oct key, an encryption key (a JWE ``alg`` or ``use: "enc"``: whoever
            holds the public key of an encrypted session can mint tokens it accepts), a malformed
            key, two different keys with the same ``kid``, or no key at all.
    """
    sources = [keys] if isinstance(keys, KeyPair | Mapping) else list(keys)
    published: list[JWK] = []
    by_kid: set[str] = set()
    for source in sources:
        for jwk in _flatten(source):
            try:
                public = public_jwk(jwk)
            except ValueError as exc:
                raise ValueError(f"refusing to publish: {exc}") from None
            if public.get("alg") in _ENCRYPTION_ALGORITHMS or public.get("use") == "enc":
                raise ValueError(
                    f"refusing to publish {_describe(public)}: it is an encryption key; publishing it "
                    "would let anyone seal tokens that the session accepts"
                )
            if public in published:
                continue
            kid = public.get("kid")
            if isinstance(kid, str):
                if kid in by_kid:
                    raise ValueError(f"two different keys share the kid {kid!r}")
                by_kid.add(kid)
            published.append(public)
    if not published:
        raise ValueError("no key to publish")
    return published


def _flatten(source: Any) -> list[Any]:
    if isinstance(source, KeyPair):
        return source.public_members() or [source.private_key]
    if isinstance(source, Mapping) and "keys" in source:
        keys = source["keys"]
        if not isinstance(keys, list):
            raise ValueError("a JWK Set's 'keys' member must be a list")
        return keys
    if isinstance(source, Mapping):
        return [source]
    raise ValueError(f"expected a JWK dict, a KeyPair or a JWK Set, got {type(source).__name__}")
