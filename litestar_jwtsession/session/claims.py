"""Session claims: the typed base struct, the claims the session manages itself, and the
immutable snapshot of a session built from a token's claims (one conversion, used everywhere)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose.claims import is_numeric_date

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = (
    "AUTH_TIME_CLAIM",
    "RESERVED_CLAIMS",
    "SessionClaims",
    "SessionSnapshot",
    "TypedClaims",
    "auth_time_of",
    "convert_claims",
    "floor_ms",
    "mint_claims",
    "snapshot_of",
)

RESERVED_CLAIMS = frozenset({"jti", "iat", "exp"})
"""Claims the session manages itself; they never live in ``data``."""

AUTH_TIME_CLAIM = "auth_time"
"""When the user last logged in, seconds since the epoch (OpenID Connect's claim). It lives in
``data``, but ``update(..., login=True)`` stamps it, a ``replace=True`` update keeps it, and the
refresh fallback copies it from the refresh session (see :meth:`SessionBase.update`)."""


def floor_ms(seconds: float) -> int:
    """Milliseconds since the epoch, floored to whole seconds (as unjwt reports times)."""
    return math.floor(seconds) * 1000


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """An immutable copy of a session (``old_session`` of hooks, results of ``verify``/``unseal``)."""

    id: str | None
    created_at: int | None
    expires_at: int | None
    data: dict[str, Any] = field(default_factory=dict)
    token: str | None = None


def snapshot_of(
    claims: Mapping[str, Any], token: str | None = None, *, with_data: bool = True
) -> SessionSnapshot:
    """The snapshot of a token with ``claims``: times floored to whole seconds, in milliseconds;
    ``data`` is every claim but the reserved ones (empty without ``with_data``)."""
    iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
    return SessionSnapshot(
        id=jti if isinstance(jti, str) else None,
        created_at=floor_ms(iat) if is_numeric_date(iat) else None,
        expires_at=floor_ms(exp) if is_numeric_date(exp) else None,
        data={k: v for k, v in claims.items() if k not in RESERVED_CLAIMS} if with_data else {},
        token=token,
    )


class SessionClaims(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The registered claims a session token may carry.

    Extend it and pass the subclass as ``claims=`` to a session config; ``session.claims`` is then
    an instance converted from the verified payload. Unset optional claims are omitted when the
    struct is passed to ``update()``, and ``jti``/``iat``/``exp`` are always managed by the session.

    .. code-block:: python

        class AccessClaims(SessionClaims):
            name: str
            role: str = "user"
    """

    jti: str | None = None
    """Token id (the session id)."""
    iat: int | None = None
    """Issued at, seconds since the epoch."""
    exp: int | None = None
    """Expiry, seconds since the epoch."""
    nbf: int | None = None
    """Not before, seconds since the epoch."""
    iss: str | None = None
    """Issuer."""
    sub: str | None = None
    """Subject (usually the user id)."""
    aud: str | list[str] | None = None
    """Audience."""
    scope: list[str] | str | None = None
    """Granted scopes: a list, or one space-delimited string (OAuth style)."""
    auth_time: int | None = None
    """When the user last logged in, seconds since the epoch: stamped by
    ``update(..., login=True)`` and read by ``requires_fresh_login``."""


def auth_time_of(claims: Any) -> float | None:
    """The ``auth_time`` of ``claims`` (a dict or a typed struct), if it is a NumericDate."""
    value = claims.get(AUTH_TIME_CLAIM) if type(claims) is dict else getattr(claims, AUTH_TIME_CLAIM, None)
    return value if is_numeric_date(value) else None


class TypedClaims(Protocol):
    """What :func:`convert_claims` needs of a session config: its claims type, if any."""

    @property
    def claims(self) -> type[Any] | None: ...


def convert_claims(config: TypedClaims, claims: dict[str, Any]) -> Any:
    """``claims`` as an instance of ``config.claims`` (or unchanged without one)."""
    struct = config.claims
    if struct is None:
        return claims
    try:
        return msgspec.convert(claims, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise SessionError(
            ErrorCode.CLAIMS_CONVERSION, f"claims do not match {struct.__name__}: {safe_text(exc)}"
        ) from exc


class MintingConfig(Protocol):
    """What :func:`mint_claims` needs of a session config."""

    @property
    def generate_id(self) -> Callable[[], str | None] | None: ...

    @property
    def max_age_seconds(self) -> int | None: ...


def mint_claims(config: MintingConfig, data: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The claims of a new token of ``config`` carrying ``data``: a fresh ``jti``, ``iat`` at
    ``now`` in whole seconds, and ``exp`` one ``max_age`` later (reserved keys of ``data`` dropped)."""
    iat = math.floor(now)
    jti = (config.generate_id() if config.generate_id else None) or str(uuid.uuid4())
    claims = {key: value for key, value in data.items() if key not in RESERVED_CLAIMS}
    claims["jti"] = jti
    claims["iat"] = iat
    if config.max_age_seconds is not None:
        claims["exp"] = iat + config.max_age_seconds
    return claims
