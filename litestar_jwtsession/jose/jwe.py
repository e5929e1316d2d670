"""The JWE codec: seal and unseal a claims dict (PBES2 derivations off the event loop)."""

from __future__ import annotations

import secrets
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from joserfc import jwe
from joserfc.errors import (
    DecodeError,
    ExceededSizeError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import OctKey
from joserfc.util import urlsafe_b64encode

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose import codec
from litestar_jwtsession.jose.algorithms import (
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    PBES2_ALGORITHMS,
    jwe_allowed_algorithms,
)
from litestar_jwtsession.jose.claims import DEFAULT_RULES, ClaimRules
from litestar_jwtsession.jose.codec import Codec, ErrorMapping, KeySlot
from litestar_jwtsession.jose.keys import JWK, Key, KeyPair, import_key, public_key
from litestar_jwtsession.jose.pbes2 import DerivationPool
from litestar_jwtsession.jose.registries import jwe_registry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from joserfc.jwe import JWERegistry

__all__ = ("JWECodec",)

_DEFAULT_ENC = "A128GCM"  # unjwt's default content cipher
_DEFAULT_PBES2 = "PBES2-HS256+A128KW"  # unjwt's default for password keys


JWE_ERRORS = ErrorMapping(
    "JWE",
    True,
    ErrorCode.JWE_INVALID,
    ErrorCode.JWE_DECRYPTION_FAILED,
    ErrorCode.JWE_ALG_NOT_ALLOWED,
    {
        **codec.KEY_ERRORS,
        DecodeError: ErrorCode.JWE_DECRYPTION_FAILED,  # failed unwrap or tag; the structure is pre-checked
        UnsupportedAlgorithmError: ErrorCode.JWE_ALG_NOT_ALLOWED,
        ExceededSizeError: ErrorCode.TOKEN_TOO_LARGE,
    },
)


def _jwe_items(key: Any) -> tuple[JWK, list[JWK]]:
    """(sealing key, opening keys): a pair seals with its (first) public key, opens with the private."""
    if not isinstance(key, KeyPair):
        return codec.oct_items(key, "JWE")
    openers = [] if key.private_key is None else [key.private_key]
    # a private-only pair seals with its own public half (unjwt cannot: its gap G6)
    return (key.public_members() or openers)[0], openers


@lru_cache(maxsize=64)
def _jwe_registry_for(alg: str, enc: str, p2c_range: tuple[int, int] | None) -> JWERegistry:
    return jwe_registry((alg,), (enc,), p2c_range=p2c_range if alg in PBES2_ALGORITHMS else None)


def _password_key(password: str) -> OctKey:
    secret = password.encode("utf-8")
    if not secret:
        raise ValueError("The JWE password must not be empty.")
    # built directly: OctKey.import_key warns about short keys, but this is PBKDF2 input, not a key
    return OctKey(secret, secret)


def _iteration_range(iterations: int, accepted: tuple[int, int] | None) -> tuple[int, int]:
    if type(iterations) is not int or iterations < 1:
        raise ValueError("pbes2_iterations must be a positive integer.")
    low, high = accepted if accepted is not None else (iterations, iterations)
    if type(low) is not int or type(high) is not int or not 1 <= low <= iterations <= high:
        raise ValueError(f"pbes2_iterations_range {accepted!r} must contain pbes2_iterations ({iterations}).")
    return low, high


class JWECodec(Codec):
    """Seals and opens compact JWE tokens for one session config.

    ``key`` is a password (PBES2), an oct JWK (``A*KW``/``A*GCMKW``, or a content cipher used with
    ``dir``) or a :class:`KeyPair` (seals with the public key, opens with the private key).
    """

    _codes = JWE_ERRORS

    def __init__(
        self,
        key: str | JWK | KeyPair,
        *,
        alg: str | None = None,
        enc: str | None = None,
        rules: ClaimRules = DEFAULT_RULES,
        pbes2_iterations: int = 600_000,
        pbes2_iterations_range: tuple[int, int] | None = None,
        pbes2_workers: int = 2,
        pbes2_queue: int = 2,
        max_token_size: int = 65536,
        cache_size: int = 4096,
    ) -> None:
        super().__init__(rules, max_token_size, cache_size)
        self.derivations = DerivationPool(pbes2_workers, pbes2_queue)
        """Where :meth:`decode_async` and :meth:`seal_async` derive PBES2 keys (a key lookup may
        return a password too, so every JWE codec has one; its threads start on first use)."""
        self.derives_keys = isinstance(key, str)
        if alg is not None and alg not in JWE_KEY_ALGORITHMS:
            raise ValueError(f"{alg!r} is not a supported JWE key-management algorithm.")
        if enc is not None and enc not in JWE_CONTENT_ALGORITHMS:
            raise ValueError(f"{enc!r} is not a supported JWE content encryption algorithm.")
        self._pinned_alg, self._pinned_enc = alg, enc
        self._p2c = pbes2_iterations
        self._p2c_range = _iteration_range(pbes2_iterations, pbes2_iterations_range)
        if isinstance(key, str):
            write = self._slot(key)
            self._slots = (write,)
            self._write_alg = alg or _DEFAULT_PBES2
        else:
            sealer, openers = _jwe_items(key)
            write = self._slot(sealer)
            self._slots = tuple(self._opener_slot(item) for item in openers)
            self._write_alg = codec.single_alg(write.algs, "JWE")
        self._sealer = write.key if isinstance(write.key, OctKey) else public_key(write.key)
        self._write_enc = enc or (next(iter(write.encs)) if len(write.encs) == 1 else _DEFAULT_ENC)

    @property
    def write_alg(self) -> str:
        """The key-management algorithm ``seal`` uses."""
        return self._write_alg

    @property
    def write_enc(self) -> str:
        """The content cipher ``seal`` uses."""
        return self._write_enc

    @property
    def read_encs(self) -> frozenset[str]:
        """The ``enc`` values accepted on read with the configured key(s)."""
        return frozenset().union(*(slot.encs for slot in self._slots))

    def _slot(self, item: Any) -> KeySlot:
        # the shape check runs on the dict first: importing a too-short oct key would only warn
        allowed = jwe_allowed_algorithms(item, alg=self._pinned_alg, enc=self._pinned_enc)
        key = _password_key(item) if isinstance(item, str) else import_key(item)
        return KeySlot(key, allowed.algs, allowed.encs)

    def _opener_slot(self, item: Any) -> KeySlot:
        slot = self._slot(item)
        if not slot.key.is_private:
            raise ValueError("A public key cannot decrypt.")
        return slot

    def seal(self, claims: Mapping[str, Any]) -> str:
        """A compact JWE of ``claims`` with unjwt's header ``{kid?, typ, cty, alg, enc}``."""
        return self._seal(claims, None)

    async def seal_async(self, claims: Mapping[str, Any]) -> str:
        """:meth:`seal` for event loops: a password's key is derived in :attr:`derivations`."""
        if self._write_alg not in PBES2_ALGORITHMS:
            return self.seal(claims)
        # the salt is drawn here (as joserfc would) so that the attempt with the derived key uses it
        p2s = urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii")
        return await self.derivations.run(partial(self._seal, claims, p2s), refusable=False)

    def _seal(self, claims: Mapping[str, Any], p2s: str | None) -> str:
        payload = codec.encode_claims(claims)
        header = self._new_header(self._sealer, self._write_alg)
        header["enc"] = self._write_enc
        if self._write_alg in PBES2_ALGORITHMS:
            header["p2c"] = self._p2c  # without a p2s, joserfc adds a fresh 16-byte one
            if p2s is not None:
                header["p2s"] = p2s
        registry = _jwe_registry_for(self._write_alg, self._write_enc, self._p2c_range)
        try:
            token = jwe.encrypt_compact(header, payload, self._sealer, registry=registry)
        except SessionError:  # a PBES2 key to derive elsewhere first
            raise
        except Exception as exc:  # joserfc raises more than JoseError; seal promises SessionError
            raise SessionError(
                ErrorCode.TOKEN_ENCODE_FAILED, f"JWE encryption failed: {safe_text(exc)}"
            ) from exc
        return self._checked_output(token)

    async def decode_async(
        self, token: str, *, now: float, key: Any = None, refusable: bool = True
    ) -> dict[str, Any]:
        # a PBES2 key is derived in the pool, or the token refused when the pool is full
        attempt = partial(self.decode, token, now=now, key=key)
        return await self.derivations.run(attempt, refusable=refusable)

    def _open_with(self, token: str, header: dict[str, Any], key: Key) -> bytes:
        # the registry allows only this token's alg/enc and, for PBES2, only the configured p2c
        # range, which joserfc checks before it derives anything
        registry = _jwe_registry_for(header["alg"], header["enc"], self._p2c_range)
        plaintext = jwe.decrypt_compact(token, key, registry=registry).plaintext
        if plaintext is None:
            raise SessionError(ErrorCode.JWE_INVALID, "JWE has no plaintext")
        return plaintext

    def _lookup_slots(self, key: Any) -> tuple[KeySlot, ...]:
        if isinstance(key, str):
            return (self._slot(key),)
        if isinstance(key, KeyPair):
            if key.private_key is None:
                raise SessionError(
                    ErrorCode.JWK_INVALID, "key lookup returned a KeyPair without a private key"
                )
            return codec.usable_slots([key.private_key], self._opener_slot)
        return codec.usable_slots(codec.key_list(key), self._opener_slot)
