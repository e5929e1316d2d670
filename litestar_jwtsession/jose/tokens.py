"""Token codecs: sign/verify (JWS) and seal/unseal (JWE) a claims dict, and claim validation.

A codec is built once per session config: keys are imported and allow-lists fixed in ``__init__``
(a bad key raises ``ValueError`` there). ``decode`` turns every failure into a
:class:`~litestar_jwtsession.errors.SessionError` and never raises anything else.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeGuard

import msgspec
from joserfc import jwe, jws
from joserfc.errors import (
    BadSignatureError,
    DecodeError,
    ExceededSizeError,
    JoseError,
    UnsupportedAlgorithmError,
    UnsupportedKeyAlgorithmError,
    UnsupportedKeyOperationError,
    UnsupportedKeyUseError,
)
from joserfc.jwk import KeySet, OctKey
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose.algorithms import (
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    JWS_ALGORITHMS,
    PBES2_ALGORITHMS,
    jwe_allowed_algorithms,
    jwe_registry,
    jws_allowed_algorithms,
    jws_registry,
)
from litestar_jwtsession.jose.keys import _KEY_CLASSES, JWK, KeyPair, _import_key, _Key, _public_key
from litestar_jwtsession.jose.pbes2 import DerivationPool

if TYPE_CHECKING:
    from joserfc.jwe import JWERegistry
    from joserfc.jws import JWSRegistry

__all__ = ("ClaimRules", "JWECodec", "JWSCodec", "is_numeric_date", "validate_claims")

_CTY = "application/json"
_DEFAULT_ENC = "A128GCM"  # unjwt's default content cipher
_DEFAULT_PBES2 = "PBES2-HS256+A128KW"  # unjwt's default for password keys


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What :func:`validate_claims` (and a codec's ``decode``) require of a token."""

    typ: str = "JWT"
    required: tuple[str, ...] = ("jti", "iat")
    issuer: str | tuple[str, ...] | None = None
    audience: str | tuple[str, ...] | None = None
    subject: str | None = None
    leeway: int = 0
    max_token_age: int | None = None


def _invalid_claim(message: str) -> SessionError:
    return SessionError(ErrorCode.JWT_CLAIM_INVALID, message)


def _as_tuple(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


def is_numeric_date(value: Any) -> TypeGuard[float]:
    """Whether ``value`` is a JWT NumericDate: a finite number, not a bool."""
    # bool is an int subclass and NaN/inf never compare sensibly: neither is a NumericDate
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _required_claims(rules: ClaimRules) -> list[str]:
    implied = {"iss": rules.issuer, "aud": rules.audience, "sub": rules.subject, "iat": rules.max_token_age}
    return list(dict.fromkeys((*rules.required, *(name for name, opt in implied.items() if opt is not None))))


def _expired(message: str, claims: dict[str, Any]) -> SessionError:
    # ``sub`` too: whoever handles the expiry may need to know whose token it was
    cause: dict[str, Any] = {name: claims[name] for name in ("jti", "iat", "exp", "sub") if name in claims}
    return SessionError(ErrorCode.JWT_EXPIRED, message, claims=cause)


def _check_claim_types(claims: dict[str, Any]) -> None:
    jti = claims.get("jti")
    if "jti" in claims and not (isinstance(jti, str) and jti):
        raise _invalid_claim('"jti" claim must be a non-empty string')
    for name in ("iat", "exp", "nbf"):
        if name in claims and not is_numeric_date(claims[name]):
            raise _invalid_claim(f'"{name}" claim must be a number')


def _check_identity(claims: dict[str, Any], rules: ClaimRules) -> None:
    if rules.issuer is not None:
        iss = claims["iss"]
        if not isinstance(iss, str) or iss not in _as_tuple(rules.issuer):
            raise _invalid_claim('unexpected "iss" claim value')
    if rules.subject is not None and claims["sub"] != rules.subject:
        raise _invalid_claim('unexpected "sub" claim value')
    if rules.audience is not None:
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        expected = _as_tuple(rules.audience)
        if not any(isinstance(value, str) and value in expected for value in audiences):
            raise _invalid_claim('unexpected "aud" claim value')


def _check_times(claims: dict[str, Any], rules: ClaimRules, now: int) -> None:
    leeway = rules.leeway
    if "nbf" in claims and claims["nbf"] > now + leeway:
        raise SessionError(ErrorCode.JWT_NBF, '"nbf" claim timestamp check failed')
    # ``<=``: a token whose exp equals now is expired (unjwt, RFC 7519 §4.1.4)
    if "exp" in claims and claims["exp"] <= now - leeway:
        raise _expired('"exp" claim timestamp check failed', claims)
    if rules.max_token_age is not None:
        iat = claims["iat"]
        if iat > now + leeway:
            raise _invalid_claim('"iat" claim timestamp check failed (it should be in the past)')
        if iat < now - rules.max_token_age - leeway:
            raise _expired('"iat" claim timestamp check failed (Token is too old)', claims)


def validate_claims(payload: object, rules: ClaimRules, now: float) -> dict[str, Any]:
    """Check ``payload`` against ``rules`` at ``now`` (seconds) and return it.

    Follows unjwt's ``validateJwtClaims`` (``now`` is rounded as in JS, ``exp == now`` is expired), but
    also requires a dict payload, non-null required claims and a non-empty string ``jti``.
    """
    if not isinstance(payload, dict):
        raise SessionError(ErrorCode.JWT_PAYLOAD_INVALID, "JWT payload must be a JSON object")
    claims: dict[str, Any] = payload
    missing = [name for name in _required_claims(rules) if claims.get(name) is None]
    if missing:
        raise SessionError(ErrorCode.JWT_CLAIM_MISSING, f"Missing required JWT Claims: {', '.join(missing)}")
    _check_claim_types(claims)
    _check_identity(claims, rules)
    # JavaScript's Math.round (halves go up), not Python's round (halves go to even)
    _check_times(claims, rules, math.floor(now + 0.5))
    return claims


# --------------------------------------------------------------------------- shared codec machinery


class _Slot(NamedTuple):
    """One usable key with the ``alg`` (and, for JWE, ``enc``) values it accepts."""

    key: _Key
    algs: frozenset[str]
    encs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _Codes:
    name: str
    segments: int
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
_KEY_ERRORS: dict[type[Exception], ErrorCode] = dict.fromkeys(
    (UnsupportedKeyUseError, UnsupportedKeyOperationError, UnsupportedKeyAlgorithmError),
    ErrorCode.JWK_INVALID,
)
_JWS = _Codes(
    "JWS",
    3,
    False,
    ErrorCode.JWS_INVALID,
    ErrorCode.JWS_SIGNATURE_INVALID,
    ErrorCode.JWS_ALG_NOT_ALLOWED,
    {
        **_KEY_ERRORS,
        BadSignatureError: ErrorCode.JWS_SIGNATURE_INVALID,
        UnsupportedAlgorithmError: ErrorCode.JWS_ALG_NOT_ALLOWED,
        ExceededSizeError: ErrorCode.TOKEN_TOO_LARGE,
    },
)
_JWE = _Codes(
    "JWE",
    5,
    True,
    ErrorCode.JWE_INVALID,
    ErrorCode.JWE_DECRYPTION_FAILED,
    ErrorCode.JWE_ALG_NOT_ALLOWED,
    {
        **_KEY_ERRORS,
        DecodeError: ErrorCode.JWE_DECRYPTION_FAILED,  # failed unwrap or tag; the structure is pre-checked
        UnsupportedAlgorithmError: ErrorCode.JWE_ALG_NOT_ALLOWED,
        ExceededSizeError: ErrorCode.TOKEN_TOO_LARGE,
    },
)


@lru_cache(maxsize=64)
def _jws_registry_for(alg: str) -> JWSRegistry:
    return jws_registry((alg,))


@lru_cache(maxsize=64)
def _jwe_registry_for(alg: str, enc: str, p2c_range: tuple[int, int] | None) -> JWERegistry:
    return jwe_registry((alg,), (enc,), p2c_range=p2c_range if alg in PBES2_ALGORITHMS else None)


def _encode_claims(claims: Mapping[str, Any]) -> bytes:
    if not isinstance(claims, Mapping):
        raise SessionError(ErrorCode.SESSION_SEAL_FAILED, "claims must be a mapping")
    try:
        return msgspec.json.encode(claims if isinstance(claims, dict) else dict(claims))
    except (msgspec.EncodeError, TypeError, ValueError, OverflowError) as exc:
        raise SessionError(
            ErrorCode.SESSION_SEAL_FAILED, f"claims are not JSON-serialisable: {safe_text(exc)}"
        ) from exc


def _key_list(key: Any) -> list[Any]:
    """The candidate keys in a key-lookup result: a JWK, a list, a JWK Set or joserfc keys."""
    if isinstance(key, KeySet):
        return list(key.keys)
    if isinstance(key, _KEY_CLASSES):
        return [key]
    if isinstance(key, dict):
        members = key.get("keys", [key])
        if isinstance(members, list):
            return members
    elif isinstance(key, list | tuple):
        return list(key)
    raise SessionError(ErrorCode.JWK_INVALID, f"unusable key from key lookup: {type(key).__name__}")


def _single(algs: frozenset[str], what: str) -> str:
    if len(algs) != 1:
        raise ValueError(f"The key allows several {what} algorithms {sorted(algs)}: pass alg= to pick one.")
    return next(iter(algs))


class VerifiedTokenCache:
    """Payloads of tokens a codec has already verified or decrypted, keyed by the exact token.

    A hit skips only the cryptography and the checks whose outcome cannot change for the same
    bytes (types, issuer, audience, required claims). The time checks run on every hit: each
    entry keeps the window of rounded times in which its claims pass ``nbf``, ``exp`` and the
    maximum age; outside it the claims go through :func:`validate_claims` again, which raises the
    precise error. Claims are decoded afresh on each hit, so callers may mutate them. The cache
    belongs to one codec: new keys mean a new cache. Bounded in entries; long tokens are not cached.
    """

    __slots__ = ("_entries", "size")

    max_token_length = 8192

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[str, tuple[bytes, float, float, float]] = {}

    def get(self, token: str) -> tuple[bytes, float, float, float] | None:
        """``(payload, valid_from, valid_before, valid_until)`` of a verified token, if cached."""
        return self._entries.get(token)

    def payload(self, token: str, now: float) -> bytes | None:
        """The JSON payload of a cached token whose claims are still valid at ``now``; ``None``
        when the token is not cached or its claims would fail a time check (the full decode then
        says why). Bytes, so every caller decodes a fresh copy of the claims."""
        cached = self._entries.get(token)
        if cached is None:
            return None
        payload, valid_from, valid_before, valid_until = cached
        rounded = math.floor(now + 0.5)  # as in validate_claims
        if valid_from <= rounded < valid_before and rounded <= valid_until:
            return payload
        return None

    def put(self, token: str, payload: bytes, claims: dict[str, Any], rules: ClaimRules) -> None:
        if self.size <= 0 or len(token) > self.max_token_length:
            return
        entries = self._entries
        if len(entries) >= self.size:
            entries.pop(next(iter(entries)), None)  # the oldest goes first (pop: threads may race)
        entries[token] = (payload, *_time_window(claims, rules))

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _time_window(claims: dict[str, Any], rules: ClaimRules) -> tuple[float, float, float]:
    """Rounded times ``n`` with ``valid_from <= n < valid_before`` and ``n <= valid_until`` pass
    :func:`_check_times` for these (already validated) claims."""
    leeway = rules.leeway
    valid_from, valid_before, valid_until = -math.inf, math.inf, math.inf
    if "nbf" in claims:
        valid_from = claims["nbf"] - leeway
    if "exp" in claims:
        valid_before = claims["exp"] + leeway
    if rules.max_token_age is not None:
        valid_from = max(valid_from, claims["iat"] - leeway)
        valid_until = claims["iat"] + rules.max_token_age + leeway
    return valid_from, valid_before, valid_until


def _json_object_type(depth: int) -> Any:
    """The msgspec type of a JSON object whose arrays and objects nest at most ``depth`` levels."""
    value: Any = str | int | float | bool | None
    for _ in range(depth - 1):
        value = str | int | float | bool | None | list[value] | dict[str, value]
    return dict[str, value]


# A protected header nests little (a JWK in ``jwk``/``epk``: 4 levels with RSA ``oth``). Decoding
# into a type of bounded depth refuses hostile nesting in C, before it can exhaust the stack.
_HEADER_DEPTH = 8
_HEADER_DECODER = msgspec.json.Decoder(_json_object_type(_HEADER_DEPTH))


class _Codec:
    """Size cap, header parsing, ``typ`` and allow-list checks, key selection, claims."""

    _codes: ClassVar[_Codes]
    _slots: tuple[_Slot, ...]
    derives_keys: bool = False
    """Whether reading may run PBKDF2 (a password key): on an event loop, use :meth:`decode_async`."""

    def __init__(self, rules: ClaimRules, max_token_size: int, cache_size: int) -> None:
        if type(max_token_size) is not int or max_token_size < 1:
            raise ValueError("max_token_size must be a positive integer.")
        if type(cache_size) is not int or cache_size < 0:
            raise ValueError("cache_size must be a non-negative integer.")
        self._rules = rules
        self._max_token_size = max_token_size
        self.cache = VerifiedTokenCache(cache_size)

    @property
    def rules(self) -> ClaimRules:
        """What ``decode`` requires of a token's claims."""
        return self._rules

    @property
    def read_algs(self) -> frozenset[str]:
        """The ``alg`` values accepted on read with the configured key(s)."""
        return frozenset().union(*(slot.algs for slot in self._slots))

    def header(self, token: str) -> dict[str, Any]:
        """The token's protected header, unverified (for key-lookup hooks)."""
        codes = self._codes
        if not isinstance(token, str):
            raise SessionError(codes.invalid, f"{codes.name} must be a string")
        if len(token) > self._max_token_size:
            raise SessionError(ErrorCode.TOKEN_TOO_LARGE, f"token exceeds {self._max_token_size} characters")
        parts = token.split(".")
        if len(parts) != codes.segments:
            raise SessionError(codes.invalid, f"Invalid {codes.name}: must contain {codes.segments} segments")
        try:
            header: dict[str, Any] = _HEADER_DECODER.decode(urlsafe_b64decode(parts[0].encode("ascii")))
        except msgspec.ValidationError as exc:
            raise SessionError(
                codes.invalid,
                f"Invalid {codes.name}: protected header must be a JSON object nesting at most "
                f"{_HEADER_DEPTH} levels ({safe_text(exc)})",
            ) from exc
        # binascii, msgspec and unicode errors are all ValueErrors; RecursionError only if the
        # stack was nearly exhausted already
        except (ValueError, RecursionError) as exc:
            raise SessionError(codes.invalid, f"Invalid {codes.name}: unreadable protected header") from exc
        return header

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
                return validate_claims(msgspec.json.decode(cached[0]), self._rules, now)
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
        if header.get("typ") != self._rules.typ:
            raise SessionError(ErrorCode.JWT_TYP_INVALID, 'unexpected "typ" JWT header value')
        slots = self._slots if key is None else self._lookup_slots(key)
        plaintext = self._open(token, header, self._candidates(slots, header))
        try:
            payload = msgspec.json.decode(plaintext)
        except ValueError as exc:
            raise SessionError(ErrorCode.JWT_PAYLOAD_INVALID, "JWT payload is not valid JSON") from exc
        checked = validate_claims(payload, self._rules, now)
        if key is None:
            self.cache.put(token, plaintext, checked, self._rules)
        return checked

    def _candidates(self, slots: tuple[_Slot, ...], header: dict[str, Any]) -> list[_Slot]:
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

    def _open(self, token: str, header: dict[str, Any], candidates: list[_Slot]) -> bytes:
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

    def _open_with(self, token: str, header: dict[str, Any], key: _Key) -> bytes:
        raise NotImplementedError

    def _lookup_slots(self, key: Any) -> tuple[_Slot, ...]:
        raise NotImplementedError

    def _new_header(self, key: _Key, alg: str) -> dict[str, Any]:
        # a fresh dict per token: joserfc writes p2s/epk/iv/tag into the header it is given
        header: dict[str, Any] = {"kid": key.kid} if key.kid else {}
        header.update(typ=self._rules.typ, cty=_CTY, alg=alg)
        return header

    def _checked_output(self, token: str) -> str:
        if len(token) > self._max_token_size:
            raise SessionError(ErrorCode.TOKEN_TOO_LARGE, f"token exceeds {self._max_token_size} characters")
        return token


def _usable_slots(items: list[Any], build: Callable[[Any], _Slot]) -> tuple[_Slot, ...]:
    """Slots for every key-lookup key that fits this codec; unusable keys (other use) are skipped."""
    slots: list[_Slot] = []
    reason = "no keys"
    for item in items:
        try:
            slots.append(build(item))
        except ValueError as exc:
            reason = str(exc)
    if not slots:
        raise SessionError(ErrorCode.JWK_INVALID, f"no usable key from key lookup: {safe_text(reason)}")
    return tuple(slots)


def _oct_items(key: Any, kind: str) -> tuple[JWK, list[JWK]]:
    """An oct JWK both writes and reads; anything else that is not a KeyPair is a config error."""
    if isinstance(key, dict) and key.get("kty") == "oct":
        return key, [key]
    if isinstance(key, dict):
        raise ValueError("Asymmetric JWKs go in KeyPair(private_key=..., public_key=...).")
    if isinstance(key, str):
        raise ValueError("A JWS key cannot be a password string: use an HS* oct JWK or a KeyPair.")
    raise ValueError(f"Unusable {kind} key of type {type(key).__name__}.")


def _jws_items(key: Any) -> tuple[JWK | None, list[JWK]]:
    """(signing key, verification keys): a pair's private key signs, its public key(s) verify."""
    if not isinstance(key, KeyPair):
        return _oct_items(key, "JWS")
    verifiers = key.public_members() or ([] if key.private_key is None else [key.private_key])
    return key.private_key, verifiers


def _jwe_items(key: Any) -> tuple[JWK, list[JWK]]:
    """(sealing key, opening keys): a pair seals with its (first) public key, opens with the private."""
    if not isinstance(key, KeyPair):
        return _oct_items(key, "JWE")
    openers = [] if key.private_key is None else [key.private_key]
    # a private-only pair seals with its own public half (unjwt cannot: its gap G6)
    return (key.public_members() or openers)[0], openers


# --------------------------------------------------------------------------- JWS


class JWSCodec(_Codec):
    """Signs and verifies compact JWS tokens for one session config.

    ``key`` is an oct JWK (HS*) or a :class:`KeyPair`: its private key signs, its public key(s)
    verify (the private key's public half when ``public_key`` is None). ``alg`` pins the algorithm.
    """

    _codes = _JWS

    def __init__(
        self,
        key: JWK | KeyPair,
        *,
        alg: str | None = None,
        rules: ClaimRules = ClaimRules(),  # frozen, so sharing the default is safe
        max_token_size: int = 65536,
        cache_size: int = 4096,
    ) -> None:
        super().__init__(rules, max_token_size, cache_size)
        if alg is not None and alg not in JWS_ALGORITHMS:
            raise ValueError(f"{alg!r} is not a supported JWS algorithm.")
        self._pinned = alg
        signer, verifiers = _jws_items(key)
        self._slots = tuple(self._slot(item) for item in verifiers)
        self._signer: _Key | None = None
        self._write_alg: str | None = None
        if signer is not None:
            self._write_alg = _single(jws_allowed_algorithms(signer, alg=alg), "JWS")
            self._signer = _import_key(signer)

    @property
    def write_alg(self) -> str | None:
        """The algorithm ``sign`` uses (None without a signing key)."""
        return self._write_alg

    def _slot(self, item: Any) -> _Slot:
        # the shape check runs on the dict first: importing a too-short oct key would only warn
        algs = jws_allowed_algorithms(item, alg=self._pinned)
        key = _import_key(item)
        return _Slot(key if isinstance(key, OctKey) else _public_key(key), algs)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS of ``claims`` with unjwt's header ``{kid?, typ, cty, alg}``."""
        if self._signer is None or self._write_alg is None:
            raise SessionError(
                ErrorCode.JWK_INVALID, "this JWS config has no private or oct key to sign with"
            )
        payload = _encode_claims(claims)
        header = self._new_header(self._signer, self._write_alg)
        try:
            token = jws.serialize_compact(
                header, payload, self._signer, registry=_jws_registry_for(header["alg"])
            )
        except Exception as exc:  # joserfc raises more than JoseError; sign promises SessionError
            raise SessionError(
                ErrorCode.SESSION_SEAL_FAILED, f"JWS signing failed: {safe_text(exc)}"
            ) from exc
        return self._checked_output(token)

    def _open_with(self, token: str, header: dict[str, Any], key: _Key) -> bytes:
        return jws.deserialize_compact(token, key, registry=_jws_registry_for(header["alg"])).payload

    def _lookup_slots(self, key: Any) -> tuple[_Slot, ...]:
        if isinstance(key, KeyPair):
            return _usable_slots(key.public_members() or [key.private_key], self._slot)
        return _usable_slots(_key_list(key), self._slot)


# --------------------------------------------------------------------------- JWE


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


class JWECodec(_Codec):
    """Seals and opens compact JWE tokens for one session config.

    ``key`` is a password (PBES2), an oct JWK (``A*KW``/``A*GCMKW``, or a content cipher used with
    ``dir``) or a :class:`KeyPair` (seals with the public key, opens with the private key).
    """

    _codes = _JWE

    def __init__(
        self,
        key: str | JWK | KeyPair,
        *,
        alg: str | None = None,
        enc: str | None = None,
        rules: ClaimRules = ClaimRules(),  # frozen, so sharing the default is safe
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
            self._write_alg = _single(write.algs, "JWE")
        self._sealer = write.key if isinstance(write.key, OctKey) else _public_key(write.key)
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

    def _slot(self, item: Any) -> _Slot:
        # the shape check runs on the dict first: importing a too-short oct key would only warn
        allowed = jwe_allowed_algorithms(item, alg=self._pinned_alg, enc=self._pinned_enc)
        key = _password_key(item) if isinstance(item, str) else _import_key(item)
        return _Slot(key, allowed.algs, allowed.encs)

    def _opener_slot(self, item: Any) -> _Slot:
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
        payload = _encode_claims(claims)
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
                ErrorCode.SESSION_SEAL_FAILED, f"JWE encryption failed: {safe_text(exc)}"
            ) from exc
        return self._checked_output(token)

    async def decode_async(
        self, token: str, *, now: float, key: Any = None, refusable: bool = True
    ) -> dict[str, Any]:
        # a PBES2 key is derived in the pool, or the token refused when the pool is full
        attempt = partial(self.decode, token, now=now, key=key)
        return await self.derivations.run(attempt, refusable=refusable)

    def _open_with(self, token: str, header: dict[str, Any], key: _Key) -> bytes:
        # the registry allows only this token's alg/enc and, for PBES2, only the configured p2c
        # range, which joserfc checks before it derives anything
        registry = _jwe_registry_for(header["alg"], header["enc"], self._p2c_range)
        plaintext = jwe.decrypt_compact(token, key, registry=registry).plaintext
        if plaintext is None:
            raise SessionError(ErrorCode.JWE_INVALID, "JWE has no plaintext")
        return plaintext

    def _lookup_slots(self, key: Any) -> tuple[_Slot, ...]:
        if isinstance(key, str):
            return (self._slot(key),)
        if isinstance(key, KeyPair):
            if key.private_key is None:
                raise SessionError(
                    ErrorCode.JWK_INVALID, "key lookup returned a KeyPair without a private key"
                )
            return _usable_slots([key.private_key], self._opener_slot)
        return _usable_slots(_key_list(key), self._opener_slot)
