"""Claim rules and their validation: types, issuer, audience, subject, required claims, times.

Every failure is a :class:`~litestar_jwtsession.errors.SessionError` with a claim code; an expired
token's error carries its ``jti``/``iat``/``exp``/``sub`` so an expiry hook can tell which session lapsed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeGuard

from litestar_jwtsession.errors import ErrorCode, SessionError

__all__ = (
    "DEFAULT_RULES",
    "ClaimRules",
    "is_numeric_date",
    "slide_point",
    "time_window",
    "validate_claims",
)


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
    slide_after: float | None = None
    """The fraction of a token's lifetime after which its session is re-issued (sliding expiry):
    no validity rule, but the end of the verified-token cache's window (see :func:`slide_point`)."""


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


# ``sub`` too: whoever handles the expiry may need to know whose token it was; ``fat``, the start
# of the login a session token belongs to, tells an expiry at the end of its absolute lifetime
_EXPIRY_CAUSE = ("jti", "iat", "exp", "sub", "fat")


def _expired(message: str, claims: dict[str, Any]) -> SessionError:
    cause: dict[str, Any] = {name: claims[name] for name in _EXPIRY_CAUSE if name in claims}
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


def slide_point(claims: dict[str, Any], rules: ClaimRules) -> int | None:
    """The first rounded time at which a token with these (validated) claims is due to be
    re-issued: ``rules.slide_after`` of its lifetime (``exp - iat``, else the maximum age) after
    ``iat``, in whole seconds; ``None`` when it does not slide."""
    fraction = rules.slide_after
    if fraction is None:
        return None
    iat = claims.get("iat")
    exp = claims.get("exp")
    lifetime = exp - iat if is_numeric_date(exp) and is_numeric_date(iat) else rules.max_token_age
    if not is_numeric_date(iat) or lifetime is None or lifetime <= 0:
        return None
    return math.ceil(iat + fraction * lifetime)


def time_window(claims: dict[str, Any], rules: ClaimRules) -> tuple[float, float, float]:
    """Rounded times ``n`` with ``valid_from <= n < valid_before`` and ``n <= valid_until`` pass
    :func:`validate_claims` for these (already validated) claims, before their slide point.

    A sliding session's window ends at its :func:`slide_point`: past it the claims are still
    valid, but a read must take the session's full path, which re-issues the session. A token far
    from its slide point costs nothing more than before."""
    leeway = rules.leeway
    valid_from, valid_before, valid_until = -math.inf, math.inf, math.inf
    if "nbf" in claims:
        valid_from = claims["nbf"] - leeway
    if "exp" in claims:
        valid_before = claims["exp"] + leeway
    slide_at = slide_point(claims, rules)
    if slide_at is not None:
        valid_before = min(valid_before, slide_at)
    if rules.max_token_age is not None:
        valid_from = max(valid_from, claims["iat"] - leeway)
        valid_until = claims["iat"] + rules.max_token_age + leeway
    return valid_from, valid_before, valid_until
