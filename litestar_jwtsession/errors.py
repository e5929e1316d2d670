"""The one exception type of the library and its stable error codes.

Codes follow unjwt's names where unjwt has one, so hooks written for either side can switch on
the same strings (``error.code == "ERR_JWT_EXPIRED"``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = (
    "ConfigurationError",
    "ErrorCode",
    "SessionError",
    "StoreUnavailableError",
    "check_count",
    "safe_text",
)


class ConfigurationError(ValueError):
    """A config, plugin or guard was given settings it cannot work with; raised at construction.

    In the Litestar layer it is also a Litestar ``ImproperlyConfiguredException``."""


class ErrorCode(StrEnum):
    """Stable values of :attr:`SessionError.code`."""

    # token shape and crypto
    JWS_INVALID = "ERR_JWS_INVALID"
    JWS_SIGNATURE_INVALID = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
    JWS_ALG_NOT_ALLOWED = "ERR_JWS_ALG_NOT_ALLOWED"
    JWE_INVALID = "ERR_JWE_INVALID"
    JWE_DECRYPTION_FAILED = "ERR_JWE_DECRYPTION_FAILED"
    JWE_ALG_NOT_ALLOWED = "ERR_JWE_ALG_NOT_ALLOWED"
    # a PBES2 token needed a new key derivation while the pool was full: refused, not judged
    JWE_DERIVATION_BUSY = "ERR_JWE_DERIVATION_BUSY"
    TOKEN_TOO_LARGE = "ERR_TOKEN_TOO_LARGE"
    # a codec could not sign or encrypt claims (a session reports it as SESSION_SEAL_FAILED)
    TOKEN_ENCODE_FAILED = "ERR_TOKEN_ENCODE_FAILED"
    # claims
    JWT_EXPIRED = "ERR_JWT_EXPIRED"
    JWT_NBF = "ERR_JWT_NBF"
    JWT_CLAIM_MISSING = "ERR_JWT_CLAIM_MISSING"
    JWT_CLAIM_INVALID = "ERR_JWT_CLAIM_INVALID"
    JWT_TYP_INVALID = "ERR_JWT_TYP_INVALID"
    JWT_PAYLOAD_INVALID = "ERR_JWT_PAYLOAD_INVALID"
    CLAIMS_CONVERSION = "ERR_JWT_CLAIMS_CONVERSION"
    # keys
    JWK_INVALID = "ERR_JWK_INVALID"
    JWK_UNSUPPORTED = "ERR_JWK_UNSUPPORTED"
    KEY_LOOKUP_FAILED = "ERR_KEY_LOOKUP_FAILED"
    # a remote JWK Set (RemoteJWKSet): unreachable, too slow, unusable, or without the token's key
    JWKS_UNAVAILABLE = "ERR_JWKS_UNAVAILABLE"
    JWKS_TIMEOUT = "ERR_JWKS_TIMEOUT"
    JWKS_INVALID = "ERR_JWKS_INVALID"
    JWKS_NO_MATCHING_KEY = "ERR_JWKS_NO_MATCHING_KEY"
    # session life cycle
    SESSION_READ_ONLY = "ERR_SESSION_READ_ONLY"
    SESSION_SEAL_FAILED = "ERR_SESSION_SEAL_FAILED"
    SESSION_NOT_INSTALLED = "ERR_SESSION_NOT_INSTALLED"
    SESSION_REVOKED = "ERR_SESSION_REVOKED"
    REFRESH_TOKEN_REUSED = "ERR_REFRESH_TOKEN_REUSED"
    # the lifetime policy (JWTSessionPlugin(absolute_lifetime=..., idle_timeout=...)): the login a
    # token belongs to is older than its absolute lifetime, or its refresh family sat idle too long
    SESSION_LIFETIME_EXCEEDED = "ERR_SESSION_LIFETIME_EXCEEDED"
    SESSION_IDLE_TIMEOUT = "ERR_SESSION_IDLE_TIMEOUT"
    COOKIE_TOO_LARGE = "ERR_COOKIE_TOO_LARGE"
    CSRF_TOKEN_INVALID = "ERR_CSRF_TOKEN_INVALID"
    STORE_UNAVAILABLE = "ERR_STORE_UNAVAILABLE"


class SessionError(Exception):
    """Raised (or handed to ``on_error``/``on_expire``) for every session failure.

    ``code`` is one of :class:`ErrorCode`; ``claims`` carries ``jti``/``iat``/``exp`` (and ``sub``)
    of an expired token (unjwt calls this the error's ``cause``) so ``on_expire`` can tell which
    session lapsed.
    """

    def __init__(self, code: ErrorCode, message: str, *, claims: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.claims: dict[str, Any] = claims or {}

    def __repr__(self) -> str:
        return f"SessionError({self.code.value!r}, {self.message!r})"


class StoreUnavailableError(SessionError):
    """The session store (revocation, rotation) could not be reached in time.

    Never a verdict on a token: it is not handed to ``on_error``, no cookie changes because of it,
    and the plugin answers the request with 503 and ``Retry-After``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.STORE_UNAVAILABLE, message)


def safe_text(value: object, *, quote: bool = False, limit: int = 256) -> str:
    """``value`` fit for an error message, which hooks and loggers write out as they get it.

    Values from a request (a token's ``kid``, ``alg``, claims, or a library's description of them)
    must not forge log lines: ``str(value)`` (``repr`` with ``quote``) is cut to ``limit``
    characters and every non-printable character (line breaks, terminal escapes) is written as
    ``repr`` writes it, e.g. ``\\n``.
    """
    text = repr(value) if quote else str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def check_count(value: object, what: str, *, minimum: int) -> int:
    """``value`` if it is a whole number (not a bool) of at least ``minimum``; ``ValueError``
    naming ``what`` otherwise (a size, a count of workers, a queue length)."""
    if type(value) is not int or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{what} must be {kind}.")
    return value
