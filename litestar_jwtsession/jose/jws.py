"""The JWS codec: sign and verify a claims dict."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    ExceededSizeError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import OctKey

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose import codec
from litestar_jwtsession.jose.algorithms import (
    JWS_ALGORITHMS,
    jws_allowed_algorithms,
)
from litestar_jwtsession.jose.claims import DEFAULT_RULES, ClaimRules
from litestar_jwtsession.jose.codec import Codec, ErrorMapping, KeySlot
from litestar_jwtsession.jose.keys import JWK, Key, KeyPair, import_key, public_key
from litestar_jwtsession.jose.registries import jws_registry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from joserfc.jws import JWSRegistry

__all__ = ("JWSCodec",)

JWS_ERRORS = ErrorMapping(
    "JWS",
    False,
    ErrorCode.JWS_INVALID,
    ErrorCode.JWS_SIGNATURE_INVALID,
    ErrorCode.JWS_ALG_NOT_ALLOWED,
    {
        **codec.KEY_ERRORS,
        BadSignatureError: ErrorCode.JWS_SIGNATURE_INVALID,
        UnsupportedAlgorithmError: ErrorCode.JWS_ALG_NOT_ALLOWED,
        ExceededSizeError: ErrorCode.TOKEN_TOO_LARGE,
    },
)


def _jws_items(key: Any) -> tuple[JWK | None, list[JWK]]:
    """(signing key, verification keys): a pair's private key signs, its public key(s) verify."""
    if not isinstance(key, KeyPair):
        return codec.oct_items(key, "JWS")
    verifiers = key.public_members() or ([] if key.private_key is None else [key.private_key])
    return key.private_key, verifiers


@lru_cache(maxsize=64)
def _jws_registry_for(alg: str) -> JWSRegistry:
    return jws_registry((alg,))


class JWSCodec(Codec):
    """Signs and verifies compact JWS tokens for one session config.

    ``key`` is an oct JWK (HS*) or a :class:`KeyPair`: its private key signs, its public key(s)
    verify (the private key's public half when ``public_key`` is None). ``alg`` pins the algorithm.
    """

    _codes = JWS_ERRORS

    def __init__(
        self,
        key: JWK | KeyPair,
        *,
        alg: str | None = None,
        rules: ClaimRules = DEFAULT_RULES,
        max_token_size: int = 65536,
        cache_size: int = 4096,
    ) -> None:
        super().__init__(rules, max_token_size, cache_size)
        if alg is not None and alg not in JWS_ALGORITHMS:
            raise ValueError(f"{alg!r} is not a supported JWS algorithm.")
        self._pinned = alg
        signer, verifiers = _jws_items(key)
        self._slots = tuple(self._slot(item) for item in verifiers)
        self._signer: Key | None = None
        self._write_alg: str | None = None
        if signer is not None:
            self._write_alg = codec.single_alg(jws_allowed_algorithms(signer, alg=alg), "JWS")
            self._signer = import_key(signer)

    @property
    def write_alg(self) -> str | None:
        """The algorithm ``sign`` uses (None without a signing key)."""
        return self._write_alg

    def _slot(self, item: Any) -> KeySlot:
        # the shape check runs on the dict first: importing a too-short oct key would only warn
        algs = jws_allowed_algorithms(item, alg=self._pinned)
        key = import_key(item)
        return KeySlot(key if isinstance(key, OctKey) else public_key(key), algs)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS of ``claims`` with unjwt's header ``{kid?, typ, cty, alg}``."""
        if self._signer is None or self._write_alg is None:
            raise SessionError(
                ErrorCode.JWK_INVALID, "this JWS config has no private or oct key to sign with"
            )
        payload = codec.encode_claims(claims)
        header = self._new_header(self._signer, self._write_alg)
        try:
            token = jws.serialize_compact(
                header, payload, self._signer, registry=_jws_registry_for(header["alg"])
            )
        except Exception as exc:  # joserfc raises more than JoseError; sign promises SessionError
            raise SessionError(
                ErrorCode.TOKEN_ENCODE_FAILED, f"JWS signing failed: {safe_text(exc)}"
            ) from exc
        return self._checked_output(token)

    def _open_with(self, token: str, header: dict[str, Any], key: Key) -> bytes:
        return jws.deserialize_compact(token, key, registry=_jws_registry_for(header["alg"])).payload

    def _lookup_slots(self, key: Any) -> tuple[KeySlot, ...]:
        if isinstance(key, KeyPair):
            return codec.usable_slots(key.public_members() or [key.private_key], self._slot)
        return codec.usable_slots(codec.key_list(key), self._slot)
