"""Private joserfc registries: our PBES2, EdDSA, ECDH-ES and AES key-wrap models.

joserfc keeps its algorithm tables on the registry *classes*, so registering or tweaking a model
there changes every joserfc user in the process. The registries below are subclasses holding
copies of those tables; only the copies carry our models.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from joserfc.errors import DecodeError, InvalidHeaderValueError, UnsupportedKeyOperationError
from joserfc.jwa import (
    AESAlgKeyWrapping,
    ECDHESAlgKeyAgreement,
    EdDSAAlgorithm,
    JWEEncModel,
    PBES2HSAlgKeyEncryption,
)
from joserfc.jwe import CompactEncryption, JWERegistry, Recipient
from joserfc.jws import JWSRegistry
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderParameter, HeaderRegistryDict
from joserfc.util import to_bytes, urlsafe_b64decode, urlsafe_b64encode

from litestar_jwtsession.jose.algorithms import (
    ECDH_ALGORITHMS,
    ECDH_KEY_TYPES,
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    JWS_ALGORITHMS,
    PBES2_ALGORITHMS,
)
from litestar_jwtsession.jose.pbes2 import KEK_CACHE, KekId, kek_id, key_encryption_key

if TYPE_CHECKING:
    from joserfc.jwk import ECKey, OctKey

__all__ = ("PBES2_MODELS", "jwe_registry", "jws_registry", "without_empty_key_ops")


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
        and jwk.get("kty") in ECDH_KEY_TYPES
        and "d" not in jwk
        and (alg is None or alg in ECDH_ALGORITHMS)
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

PBES2_MODELS: dict[str, _PBES2Algorithm] = {
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
        "alg": {**JWERegistry.algorithms["alg"], **_ECDH_MODELS, **PBES2_MODELS},
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
