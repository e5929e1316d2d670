"""Refresh-token families: the claims that name them, their opaque handle, how long they live.

A rotating refresh token carries its family (``fam``); an access session re-issued from it
carries the family's one-way handle (``fid``) instead, so a detected reuse revokes both. See
:mod:`litestar_jwtsession.integration.stores`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.session.config import SessionConfig

__all__ = (
    "BOOKKEEPING_CLAIMS",
    "FAMILY_CLAIM",
    "FAMILY_HANDLE_CLAIM",
    "family_handle",
    "family_of",
    "max_lifetime",
)

FAMILY_CLAIM = "fam"
"""The refresh-token claim naming the rotation family."""
BOOKKEEPING_CLAIMS = frozenset({FAMILY_CLAIM})
"""Claims the library adds to refresh tokens for its own use; never copied into an access token."""
FAMILY_HANDLE_CLAIM = "fid"
"""The access-token claim tying an access session to the refresh family it was re-issued from."""


def family_handle(family: str) -> str:
    """The opaque name of a refresh family: what access tokens carry and the store is keyed by.
    One-way, so the client-readable access token reveals no refresh token ``jti``."""
    digest = hashlib.sha256(b"litestar-jwtsession family\x00" + family.encode("utf-8", "surrogatepass"))
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode("ascii")


def family_of(claims: Mapping[str, Any], default: str | None) -> str | None:
    """The family ``claims`` name (``default`` for the first token of a family, which has none)."""
    family = claims.get(FAMILY_CLAIM)
    return family if isinstance(family, str) and family else default


def max_lifetime(config: SessionConfig[Any]) -> int | None:
    """Seconds the newest token of ``config`` issued now can live, leeway included."""
    return None if config.max_age_seconds is None else config.max_age_seconds + config.leeway + 1
