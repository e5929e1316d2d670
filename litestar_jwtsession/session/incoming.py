"""What one request carries: its headers, its cookies, where each session's token is, and the
cached read of a token an earlier request already verified.

Nothing here is decoded before something asks for a session; each piece is computed once per
request and kept (the header index, the parsed cookies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from litestar_jwtsession.errors import SessionError
from litestar_jwtsession.session.claims import convert_claims
from litestar_jwtsession.session.cookies import (
    CHUNK_MARKER,
    parse_cookie_header,
    parse_cookie_value,
    read_cookie,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar_jwtsession.session.config import SessionConfig

__all__ = ("CachedRead", "Incoming")


class Incoming:
    """The headers of one request, indexed and with their cookies parsed on first use."""

    __slots__ = ("_cookies", "_headers", "_index")

    def __init__(self, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self._headers = headers
        self._index: dict[bytes, bytes] | None = None
        self._cookies: dict[str, str] | None = None

    def _header_index(self) -> dict[bytes, bytes]:
        index = self._index
        if index is None:
            # one pass in C: reversed, so the first value of a repeated header wins
            index = self._index = dict(reversed(self._headers))
        return index

    def header(self, name: str | bytes) -> str | None:
        """First value of request header ``name`` (lower case)."""
        raw = name if isinstance(name, bytes) else name.encode("latin-1")
        value = self._header_index().get(raw)
        return None if value is None else value.decode("latin-1")

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies (first occurrence of a name wins); do not mutate."""
        cookies = self._cookies
        if cookies is None:
            values = [value for name, value in self._headers if name == b"cookie"]
            if len(values) == 1:  # the rule (HTTP/1.1): memoised across requests
                cookies = parse_cookie_value(values[0])
            else:  # none, or a Cookie header split by HTTP/2
                cookies = parse_cookie_header([value.decode("latin-1") for value in values])
            self._cookies = cookies
        return cookies

    def find_token(self, config: SessionConfig[Any]) -> tuple[str | None, bool]:
        """``(token, from_cookie)`` of ``config``'s session: the session header wins over the
        cookie (whose chunks are reassembled); ``(None, False)`` when neither carries one."""
        if config.header_key is not None:
            header = self.header(config.header_key)
            if header:
                token = header[7:].strip() if header.startswith("Bearer ") else header
                if token:
                    return token, False
        if config.cookie_spec is not None:
            value = self.cookies.get(config.name)
            if value and not value.startswith(CHUNK_MARKER):
                return value, True  # the common case: one plain cookie
            chunked = read_cookie(self.cookies, config.name).token if value else None
            if chunked:
                return chunked, True
        return None, False

    def read_cached(self, config: SessionConfig[Any], now: float) -> CachedRead | None:
        """The read of ``config``'s token taken from its codec's verified-token cache, when the
        token is a plain cookie the cache holds and whose time window includes ``now`` (the cache
        checks it). The caller decides whether a cached read may stand in for the full one."""
        token, from_cookie = self.find_token(config)
        if token is None or not from_cookie:
            return None
        payload = config.codec.cache.payload(token, now)
        if payload is None:
            return None
        return CachedRead.of(config, token, payload)


class CachedRead:
    """A verified cookie token of one session, taken from the cache: what a guard needs (the
    claims) and what the session built later from it needs (the payload)."""

    __slots__ = ("claims", "config", "payload", "token", "typed")

    def __init__(
        self, config: SessionConfig[Any], token: str, claims: dict[str, Any], typed: Any, payload: bytes
    ) -> None:
        self.config = config
        self.token = token
        self.claims = claims
        self.typed = typed
        """``claims`` converted to ``config.claims``, or ``claims`` itself."""
        self.payload = payload
        """The verified JSON payload: a session built later decodes its own copy of the claims, so
        code that changed ``request.auth`` meanwhile does not change the session."""

    @classmethod
    def of(cls, config: SessionConfig[Any], token: str, payload: bytes) -> CachedRead | None:
        """The read of a cached ``payload``; ``None`` when its claims do not convert to the
        config's claims type (the full read then reports why)."""
        claims: dict[str, Any] = msgspec.json.decode(payload)
        try:
            typed = claims if config.claims is None else convert_claims(config, claims)
        except SessionError:
            return None
        return cls(config, token, claims, typed, payload)
