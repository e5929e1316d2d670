"""What one request carries: its headers, its cookies, where each session's token is, and the
read of a session cookie a guard took from the verified-token cache.

Nothing here is decoded before something asks for a session; each piece is computed once per
request and kept (the header index, the parsed cookies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    """The headers of one request, read on first use: the Cookie header values collected and
    parsed once, other headers looked up by name."""

    __slots__ = ("_cookie_values", "_cookies", "_headers", "_index")

    def __init__(self, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self._headers = headers
        self._index: dict[bytes, bytes] | None = None
        self._cookie_values: list[bytes] | None = None
        self._cookies: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        """First value of request header ``name`` (lower case)."""
        value = self._header_value(name.encode("latin-1"))
        return None if value is None else value.decode("latin-1")

    def _header_value(self, name: bytes) -> bytes | None:
        """The first value of header ``name``. The first lookup of a request is one scan that also
        collects the Cookie header values (a session's read looks up its session header, then its
        cookie); later lookups go through an index of every header."""
        index = self._index
        if index is not None:
            return index.get(name)
        if self._cookie_values is not None:
            # one pass in C: reversed, so the first value of a repeated header wins
            index = self._index = dict(reversed(self._headers))
            return index.get(name)
        found = None
        cookie_values = []
        for key, value in self._headers:
            if key == name and found is None:
                found = value
            if key == b"cookie":
                cookie_values.append(value)
        self._cookie_values = cookie_values
        return found

    @property
    def cookies(self) -> dict[str, str]:
        """The request's cookies (first occurrence of a name wins); do not mutate."""
        cookies = self._cookies
        if cookies is None:
            values = self._cookie_values
            if values is None:
                values = self._cookie_values = [value for name, value in self._headers if name == b"cookie"]
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
            raw = self._header_value(config.header_key)
            if raw:
                header = raw.decode("latin-1")
                token = header[7:].strip() if header.startswith("Bearer ") else header
                if token:
                    return token, False
        if config.cookie_spec is not None:
            cookies = self.cookies
            value = cookies.get(config.name)
            if value and not value.startswith(CHUNK_MARKER):
                return value, True  # the common case: one plain cookie
            chunked = read_cookie(cookies, config.name).token if value else None
            if chunked:
                return chunked, True
        return None, False


class CachedRead:
    """A session cookie a guard read from the verified-token cache: the claims it admitted the
    request with, and what the session built later from it needs."""

    __slots__ = ("claims", "config", "token", "typed")

    def __init__(self, config: SessionConfig[Any], token: str, claims: dict[str, Any], typed: Any) -> None:
        self.config = config
        self.token = token
        self.claims = claims
        """The verified claims, as the token carried them: a copy of their top level is taken
        before anything sees them, so code that changes ``request.auth`` (a user lookup, a
        handler) does not change the session built later, as with the full read."""
        self.typed = typed
        """The claims as the guard exposes them (``request.auth``): converted to
        ``config.claims``, or a dict of their own."""
