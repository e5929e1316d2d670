"""What the JWS and the JWE codec share: header parsing, key slots, error mapping, the
verified-token cache and the decode pipeline.

A codec is built once per session config: keys are imported and allow-lists fixed in ``__init__``
(a bad key raises ``ValueError`` there). ``decode`` turns every failure into a
:class:`~litestar_jwtsession.errors.SessionError` and never raises anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

import msgspec
from joserfc.errors import (
    JoseError,
    UnsupportedKeyAlgorithmError,
    UnsupportedKeyOperationError,
    UnsupportedKeyUseError,
)
from joserfc.jwk import KeySet

from litestar_jwtsession.errors import ErrorCode, SessionError, check_count, safe_text
from litestar_jwtsession.jose.cache import VerifiedTokenCache
from litestar_jwtsession.jose.claims import ClaimRules, validate_claims
from litestar_jwtsession.jose.headers import parse_protected_header
from litestar_jwtsession.jose.keys import JWK, KEY_CLASSES, Key

__all__ = (
    "CTY",
    "Codec",
    "ErrorMapping",
    "KeySlot",
    "encode_claims",
    "oct_items",
    "single_alg",
    "usable_slots",
)

CTY = "application/json"


class KeySlot(NamedTuple):
    """One usable key with the ``alg`` (and, for JWE, ``enc``) values it accepts."""

    key: Key
    algs: frozenset[str]
    encs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ErrorMapping:
    """How a codec names its tokens and maps failures to error codes."""

    name: Literal["JWS", "JWE"]
    uses_enc: bool
    invalid: ErrorCode
    failed: ErrorCode
    alg_not_allowed: ErrorCode
    errors: Mapping[type[Exception], ErrorCode]

    def map(self, exc: Exception) -> SessionError:
        """The SessionError for a joserfc (or other) exception raised while opening a token."""
        code = next((self.errors[cls] for cls in type(exc).__mro__ if cls in self.errors), self.invalid)
        # joserfc's descriptions quote the token's header (e.g. the names in "crit"): escaped
        detail = exc.description if isinstance(exc, JoseError) else str(exc)
        message = f"{self.name} rejected ({type(exc).__name__})" + (
            f": {safe_text(detail)}" if detail else ""
        )
        error = SessionError(code, message)
        error.__cause__ = exc
        return error


# only refusals by *our* key (its use/key_ops/alg members) are key errors; a malformed epk in a
# hostile header raises other KeyParameterErrors and stays an invalid token
KEY_ERRORS: dict[type[Exception], ErrorCode] = dict.fromkeys(
    (UnsupportedKeyUseError, UnsupportedKeyOperationError, UnsupportedKeyAlgorithmError),
    ErrorCode.JWK_INVALID,
)


def encode_claims(claims: Mapping[str, Any]) -> bytes:
    if not isinstance(claims, Mapping):
        raise SessionError(ErrorCode.TOKEN_ENCODE_FAILED, "claims must be a mapping")
    try:
        return msgspec.json.encode(claims if isinstance(claims, dict) else dict(claims))
    except (msgspec.EncodeError, TypeError, ValueError, OverflowError) as exc:
        raise SessionError(
            ErrorCode.TOKEN_ENCODE_FAILED, f"claims are not JSON-serialisable: {safe_text(exc)}"
        ) from exc


def key_list(key: Any) -> list[Any]:
    """The candidate keys in a key-lookup result: a JWK, a list, a JWK Set or joserfc keys."""
    if isinstance(key, KeySet):
        return list(key.keys)
    if isinstance(key, KEY_CLASSES):
        return [key]
    if isinstance(key, dict):
        members = key.get("keys", [key])
        if isinstance(members, list):
            return members
    elif isinstance(key, list | tuple):
        return list(key)
    raise SessionError(ErrorCode.JWK_INVALID, f"unusable key from key lookup: {type(key).__name__}")


def single_alg(algs: frozenset[str], what: str) -> str:
    if len(algs) != 1:
        raise ValueError(f"The key allows several {what} algorithms {sorted(algs)}: pass alg= to pick one.")
    return next(iter(algs))


class Codec:
    """Size cap, header parsing, ``typ`` and allow-list checks, key selection, claims."""

    _codes: ClassVar[ErrorMapping]
    _slots: tuple[KeySlot, ...]
    derives_keys: bool = False
    """Whether reading may run PBKDF2 (a password key): on an event loop, use :meth:`decode_async`."""

    def __init__(self, rules: ClaimRules, max_token_size: int, cache_size: int) -> None:
        self.rules = rules
        """What ``decode`` requires of a token's claims (frozen)."""
        self._max_token_size = check_count(max_token_size, "max_token_size", minimum=1)
        self.cache = VerifiedTokenCache(check_count(cache_size, "cache_size", minimum=0))

    @property
    def read_algs(self) -> frozenset[str]:
        """The ``alg`` values accepted on read with the configured key(s)."""
        return frozenset().union(*(slot.algs for slot in self._slots))

    def header(self, token: str) -> dict[str, Any]:
        """The token's protected header, unverified (for key-lookup hooks)."""
        return parse_protected_header(token, self._codes.name, max_token_size=self._max_token_size)

    def decode(self, token: str, *, now: float, key: Any = None) -> dict[str, Any]:
        """Verify or decrypt ``token`` and validate its claims at ``now`` (seconds).

        ``key`` (from a key-lookup hook) replaces the configured key(s) for this call; its
        allow-list is inferred from it (and the pinned ``alg``/``enc``).
        """
        # Tokens opened with a key-lookup result are never cached: the hook may answer differently.
        if key is None and type(token) is str:  # checked first: this is the per-request path
            payload = self.cache.payload(token, now)
            if payload is not None:
                return msgspec.json.decode(payload)  # type: ignore[no-any-return]
            cached = self.cache.get(token)
            if cached is not None:  # outside its time window: raise the precise error
                return validate_claims(msgspec.json.decode(cached[0]), self.rules, now)
        try:
            return self._decode(token, now, key)
        except SessionError:
            raise
        except Exception as exc:  # the contract: nothing but SessionError leaves decode
            raise self._codes.map(exc) from exc

    async def decode_async(
        self, token: str, *, now: float, key: Any = None, refusable: bool = True
    ) -> dict[str, Any]:
        """:meth:`decode` for event loops: nothing slow runs in the calling thread.

        ``refusable=False`` (a token from a trusted place, such as the session store) waits for a
        key derivation instead of being refused when the derivation pool is full.
        """
        return self.decode(token, now=now, key=key)

    def _decode(self, token: str, now: float, key: Any) -> dict[str, Any]:
        header = self.header(token)
        if header.get("typ") != self.rules.typ:
            raise SessionError(ErrorCode.JWT_TYP_INVALID, 'unexpected "typ" JWT header value')
        slots = self._slots if key is None else self._lookup_slots(key)
        plaintext = self._open(token, header, self._candidates(slots, header))
        try:
            payload = msgspec.json.decode(plaintext)
        except ValueError as exc:
            raise SessionError(ErrorCode.JWT_PAYLOAD_INVALID, "JWT payload is not valid JSON") from exc
        checked = validate_claims(payload, self.rules, now)
        if key is None:
            self.cache.put(token, plaintext, checked, self.rules)
        return checked

    def _candidates(self, slots: tuple[KeySlot, ...], header: dict[str, Any]) -> list[KeySlot]:
        codes = self._codes
        if not slots:
            raise SessionError(ErrorCode.JWK_INVALID, f"no key to open a {codes.name} with")
        alg, enc, kid = header.get("alg"), header.get("enc"), header.get("kid")
        if not isinstance(alg, str) or (codes.uses_enc and not isinstance(enc, str)):
            raise SessionError(codes.invalid, f"Invalid {codes.name}: missing algorithm")
        usable = [slot for slot in slots if alg in slot.algs and (not codes.uses_enc or enc in slot.encs)]
        if not usable:
            shown = f"{alg}/{enc}" if codes.uses_enc else alg
            raise SessionError(
                codes.alg_not_allowed, f"{codes.name} algorithm {safe_text(shown, quote=True)} is not allowed"
            )
        if kid is None:
            return usable
        if not isinstance(kid, str):
            raise SessionError(codes.invalid, f'Invalid {codes.name}: "kid" must be a string')
        # a token's kid picks among keys that have one; keys without a kid stay usable as a fallback
        by_kid = [slot for slot in usable if slot.key.kid == kid]
        unnamed = [slot for slot in usable if slot.key.kid is None]
        if not (by_kid or unnamed):
            raise SessionError(codes.failed, f"no key matches kid {safe_text(kid, quote=True)}")
        return by_kid or unnamed

    def _open(self, token: str, header: dict[str, Any], candidates: list[KeySlot]) -> bytes:
        codes = self._codes
        failure: SessionError | None = None
        for slot in candidates:
            try:
                return self._open_with(token, header, slot.key)
            except SessionError:  # already final, e.g. a PBES2 key to derive elsewhere first
                raise
            except Exception as exc:  # mapped below; a wrong key just moves on to the next one
                error = codes.map(exc)
                if error.code not in (codes.failed, ErrorCode.JWK_INVALID):
                    raise error from exc
                failure = error
        assert failure is not None  # candidates is never empty
        raise failure

    def _open_with(self, token: str, header: dict[str, Any], key: Key) -> bytes:
        raise NotImplementedError

    def _lookup_slots(self, key: Any) -> tuple[KeySlot, ...]:
        raise NotImplementedError

    def _new_header(self, key: Key, alg: str) -> dict[str, Any]:
        # a fresh dict per token: joserfc writes p2s/epk/iv/tag into the header it is given
        header: dict[str, Any] = {"kid": key.kid} if key.kid else {}
        header.update(typ=self.rules.typ, cty=CTY, alg=alg)
        return header

    def _checked_output(self, token: str) -> str:
        if len(token) > self._max_token_size:
            raise SessionError(ErrorCode.TOKEN_TOO_LARGE, f"token exceeds {self._max_token_size} characters")
        return token


def usable_slots(items: list[Any], build: Callable[[Any], KeySlot]) -> tuple[KeySlot, ...]:
    """Slots for every key-lookup key that fits this codec; unusable keys (other use) are skipped."""
    slots: list[KeySlot] = []
    reason = "no keys"
    for item in items:
        try:
            slots.append(build(item))
        except ValueError as exc:
            reason = str(exc)
    if not slots:
        raise SessionError(ErrorCode.JWK_INVALID, f"no usable key from key lookup: {safe_text(reason)}")
    return tuple(slots)


def oct_items(key: Any, kind: str) -> tuple[JWK, list[JWK]]:
    """An oct JWK both writes and reads; anything else that is not a KeyPair is a config error."""
    if isinstance(key, dict) and key.get("kty") == "oct":
        return key, [key]
    if isinstance(key, dict):
        raise ValueError("Asymmetric JWKs go in KeyPair(private_key=..., public_key=...).")
    if isinstance(key, str):
        raise ValueError("A JWS key cannot be a password string: use an HS* oct JWK or a KeyPair.")
    raise ValueError(f"Unusable {kind} key of type {type(key).__name__}.")
