"""Claim rules and their validation: types, issuer, audience, subject, required claims, times.

Every failure is a :class:`~litestar_jwtsession.errors.SessionError` with a claim code; an expired
token's error carries its ``jti``/``iat``/``exp``/``sub`` so an expiry hook can tell which session lapsed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from litestar_jwtsession.errors import ErrorCode, SessionError

__all__ = ("DEFAULT_RULES", "ClaimRules", "is_numeric_date", "time_window", "validate_claims")


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


DEFAULT_RULES = ClaimRules()
"""The rules of a codec given none (frozen, so one instance serves every codec)."""


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


def time_window(claims: dict[str, Any], rules: ClaimRules) -> tuple[float, float, float]:
    """Rounded times ``n`` with ``valid_from <= n < valid_before`` and ``n <= valid_until`` pass
    :func:`validate_claims` for these (already validated) claims."""
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
