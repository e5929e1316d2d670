"""The verified-token cache of a codec."""

from __future__ import annotations

import math
from typing import Any

from litestar_jwtsession.jose.claims import ClaimRules, time_window

__all__ = ("VerifiedTokenCache",)


class VerifiedTokenCache:
    """Payloads of tokens a codec has already verified or decrypted, keyed by the exact token.

    A hit skips only the cryptography and the checks whose outcome cannot change for the same
    bytes (types, issuer, audience, required claims). The time checks run on every hit: each
    entry keeps the window of rounded times in which its claims pass ``nbf``, ``exp`` and the
    maximum age, cut short at a sliding session's slide point; outside it the claims go through
    :func:`validate_claims` again, which raises the precise error (or passes them on to the
    session's full read, which re-issues a session due to slide). Claims are decoded afresh on
    each hit, so callers may mutate them. The cache belongs to one codec: new keys mean a new
    cache. Bounded in entries; long tokens are not cached.
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
        entries[token] = (payload, *time_window(claims, rules))

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
