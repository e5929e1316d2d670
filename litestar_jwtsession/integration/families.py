"""Refresh families: what names them, and how the store keys and revokes them.

A refresh session and every token rotated from it form a *family* (the ``fam`` claim; the first
token of a family names it by its own ``jti``). Access sessions re-issued from a family carry its
opaque *handle* (``fid``), which is also the family's key in the store and the id of its device
session. Revocation (``stores.py``) and the device registry (``devices.py``) share these names.
Under an absolute lifetime every token of a family also carries the start of its login (``fat``,
see :mod:`litestar_jwtsession.session.lifetime`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from litestar_jwtsession.session.lifetime import LIFETIME_CLAIM

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.integration.store_ops import StoreOps
    from litestar_jwtsession.session.config import SessionConfig

__all__ = (
    "BOOKKEEPING_CLAIMS",
    "FAMILY_CLAIM",
    "FAMILY_HANDLE_CLAIM",
    "family_handle",
    "family_lifetime",
    "family_of",
    "revoke_family",
    "store_key",
)

FAMILY_CLAIM = "fam"
"""The refresh-token claim naming the rotation family."""
BOOKKEEPING_CLAIMS = frozenset({FAMILY_CLAIM, LIFETIME_CLAIM})
"""Claims the library adds to refresh tokens for its own use; never copied into an access token."""
FAMILY_HANDLE_CLAIM = "fid"
"""The access-token claim tying an access session to the refresh family it was issued with."""


def family_handle(family: str) -> str:
    """The opaque name of a refresh family: what access tokens carry and the store is keyed by.
    One-way, so the client-readable access token reveals no refresh token ``jti``."""
    digest = hashlib.sha256(b"litestar-jwtsession family\x00" + family.encode("utf-8", "surrogatepass"))
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode("ascii")


def family_of(claims: Mapping[str, Any], default: str | None) -> str | None:
    """The family a refresh token with ``claims`` belongs to (``default``: its own ``jti``)."""
    family = claims.get(FAMILY_CLAIM)
    return family if isinstance(family, str) and family else default


def family_lifetime(config: SessionConfig[Any]) -> int | None:
    """Seconds a family (or a subject's revocation) must be remembered: the newest token was
    issued at the latest now, so it lives at most one ``max_age`` (and the leeway) longer."""
    return None if config.max_age_seconds is None else config.max_age_seconds + config.leeway + 1


def store_key(prefix: str, kind: str, name: str, value: str) -> str:
    """The store key of one record: ``<prefix>:<kind>:<session name>:<value>``."""
    return f"{prefix}:{kind}:{name}:{value}"


async def revoke_family(store: StoreOps, prefix: str, config: SessionConfig[Any], handle: str) -> None:
    """Revoke the family ``handle`` of the refresh ``config``: its refresh tokens and the access
    tokens carrying the handle read as revoked on every instance sharing the store."""
    await store.set(
        store_key(prefix, "family", config.name, handle), b"1", expires_in=family_lifetime(config)
    )
