"""A base ``msgspec.Struct`` for session claims, to extend with an application's own claims."""

from __future__ import annotations

import msgspec

__all__ = ("SessionClaims",)


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
