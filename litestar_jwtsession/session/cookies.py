"""Chunked session cookies in unjwt's (h3's) wire format, framework-neutral.

A token longer than ``chunk_max_length`` is stored as a main cookie ``name=__chunked__N`` plus
chunks ``name.1 .. name.N``. Reading accepts at most :data:`MAX_CHUNKS` chunks; writing refuses
more. When a session shrinks or is cleared, the chunks the request carried but the response no
longer needs are expired, so a browser never reassembles a stale tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Literal, NamedTuple
from urllib.parse import unquote

from litestar_jwtsession.errors import ConfigurationError, ErrorCode, SessionError

if TYPE_CHECKING:
    from collections.abc import Iterable


__all__ = (
    "CHUNK_MARKER",
    "CookieOptions",
    "MAX_CHUNKS",
    "MAX_COOKIE_HEADER_SIZE",
    "MAX_COOKIE_PAIRS",
    "MAX_COOKIE_SIZE",
    "CookieSpec",
    "IncomingCookie",
    "parse_cookie_header",
    "parse_cookie_value",
    "read_cookie",
)

MAX_CHUNKS = 100
CHUNK_MARKER = "__chunked__"
MAX_COOKIE_SIZE = 4096
"""The longest cookie (name and value, in bytes) browsers keep: RFC 6265 §6.1 asks for at least
this much, and browsers drop longer cookies rather than send them."""
MAX_COOKIE_HEADER_SIZE = (MAX_CHUNKS + 2) * (MAX_COOKIE_SIZE + len("=; "))
"""``Cookie`` header values longer than this in total (418,098 characters) are ignored as a whole:
the request then carries no cookie session. It is what a browser sends for 102 cookies of the
largest size it keeps: a maximal chunked session (the main cookie and :data:`MAX_CHUNKS` chunks of
up to 4000 characters, h3's maximum, under a name of up to 92 characters) and one more cookie."""
MAX_COOKIE_PAIRS = 300
"""Pairs of a ``Cookie`` header beyond the first 300 are not parsed. Chrome keeps at most 180
cookies per domain (RFC 6265 asks for at least 50); with the cookies of parent domains, a
browser's request stays below this."""
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


_PARSED: dict[bytes, dict[str, str]] = {}
_PARSED_MAX = 512
_PARSED_MAX_HEADER = 8192  # longer headers are parsed on every request: the memo stays a few MiB


def parse_cookie_value(raw: bytes) -> dict[str, str]:
    """:func:`parse_cookie_header` for one raw (ASGI) header value, memoised: a client sends the
    same ``Cookie`` header on request after request. Bounded; the result must not be mutated."""
    parsed = _PARSED.get(raw)
    if parsed is None:
        parsed = parse_cookie_header((raw.decode("latin-1"),))
        if len(raw) > _PARSED_MAX_HEADER:
            return parsed
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)), None)  # (pop: another thread may evict it too)
        _PARSED[raw] = parsed
    return parsed


def parse_cookie_header(values: Iterable[str]) -> dict[str, str]:
    """Parse ``Cookie`` header values; the first occurrence of a name wins (as in cookie-es).

    Values containing ``%`` are URL-decoded (kept as sent if they do not decode to UTF-8);
    surrounding double quotes are dropped. The work is bounded by what a browser can send: headers
    longer than :data:`MAX_COOKIE_HEADER_SIZE` in total yield no cookies at all, and at most
    :data:`MAX_COOKIE_PAIRS` pairs are parsed.
    """
    cookies: dict[str, str] = {}
    if not isinstance(values, list | tuple):
        values = list(values)
    if sum(len(header) for header in values) > MAX_COOKIE_HEADER_SIZE:
        return cookies
    budget = MAX_COOKIE_PAIRS
    for header in values:
        pairs = header.split(";", budget)
        if len(pairs) > budget:
            pairs.pop()  # the unsplit rest of the header
        budget -= len(pairs)
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or not name or name in cookies:
                continue
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if "%" in value:
                value = _percent_decoded(value)
            cookies[name] = value
        if budget <= 0:
            break
    return cookies


def _percent_decoded(value: str) -> str:
    """``value`` URL-decoded in one pass; as sent if it does not decode to UTF-8 (as in cookie-es)."""
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value


class IncomingCookie(NamedTuple):
    """What the request carried under one session name."""

    token: str | None
    """The reassembled token, or ``None`` (absent, or a broken chunk set)."""
    chunks: int
    """How many chunk cookies the request announced (0 for a plain cookie)."""


def read_cookie(cookies: dict[str, str], name: str) -> IncomingCookie:
    """Reassemble the session cookie ``name`` from the parsed request cookies."""
    main = cookies.get(name)
    if main is None:
        return IncomingCookie(None, 0)
    if not main.startswith(CHUNK_MARKER):
        return IncomingCookie(main or None, 0)
    count_text = main[len(CHUNK_MARKER) :]
    if not count_text.isascii() or not count_text.isdigit():
        return IncomingCookie(None, 0)
    # parseInt semantics (leading zeros allowed), but int() only ever sees a few digits: past
    # Python's digit limit it raises, and any longer number is over the cap anyway
    digits = count_text.lstrip("0")
    count = int(digits or "0") if len(digits) <= len(str(MAX_CHUNKS)) else MAX_CHUNKS + 1
    if count == 0 or count > MAX_CHUNKS:
        # still remember the announced chunks (capped) so a write can expire them
        return IncomingCookie(None, min(count, MAX_CHUNKS))
    parts = [cookies.get(f"{name}.{index}") for index in range(1, count + 1)]
    if any(not part for part in parts):
        return IncomingCookie(None, count)
    return IncomingCookie("".join(parts), count)  # type: ignore[arg-type]


@dataclass
class CookieOptions:
    """Attributes of the session cookie (and of each of its chunks)."""

    path: str = "/"
    """Cookie ``Path``."""
    domain: str | None = None
    """Cookie ``Domain``; ``None`` means host-only."""
    secure: bool = True
    """Send only over HTTPS (browsers treat ``http://localhost`` as secure)."""
    httponly: bool | None = None
    """Hide from JavaScript. ``None``: ``True`` for JWE sessions, ``False`` for JWS (unjwt's defaults)."""
    samesite: Literal["lax", "strict", "none"] | None = "lax"
    """``SameSite``; ``"lax"`` by default (unjwt writes none; browsers then assume lax)."""
    chunk_max_length: int = 4000
    """Longest cookie value; longer tokens are split into ``name.1 .. name.N`` chunks."""

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_max_length <= 4000:
            raise ConfigurationError("cookie chunk_max_length must be between 1 and 4000")
        if self.samesite == "none" and not self.secure:
            raise ConfigurationError('cookie samesite="none" requires secure=True')
        if self.samesite not in (None, "lax", "strict", "none"):
            raise ConfigurationError(f"invalid cookie samesite {self.samesite!r}")


@dataclass(frozen=True, slots=True)
class CookieSpec:
    """A session cookie's name and pre-rendered attributes."""

    name: str
    chunk_max_length: int
    attributes: str
    """``; Domain=..; Path=..`` part shared by every Set-Cookie of this session."""
    flags: str
    """``; HttpOnly; Secure; SameSite=..`` part, written after ``Expires``."""

    @classmethod
    def from_options(cls, name: str, options: CookieOptions, *, httponly: bool) -> CookieSpec:
        attributes = ""
        if options.domain:
            attributes += f"; Domain={options.domain}"
        attributes += f"; Path={options.path}"
        flags = ""
        if httponly:
            flags += "; HttpOnly"
        if options.secure:
            flags += "; Secure"
        if options.samesite:
            flags += f"; SameSite={options.samesite.capitalize()}"
        return cls(name, options.chunk_max_length, attributes, flags)

    def chunk_count(self, token: str) -> int:
        """Chunk cookies needed for ``token`` (0: it fits one plain cookie)."""
        if len(token) <= self.chunk_max_length:
            return 0
        return -(-len(token) // self.chunk_max_length)

    def incoming_chunks(self, cookies: dict[str, str]) -> int:
        """How many chunk cookies of this session the request announced (to expire the surplus)."""
        return read_cookie(cookies, self.name).chunks

    def check_fits(self, token: str) -> None:
        if self.chunk_count(token) > MAX_CHUNKS:
            raise SessionError(
                ErrorCode.COOKIE_TOO_LARGE,
                f"session {self.name!r}: a token of {len(token)} characters needs more than "
                f"{MAX_CHUNKS} cookie chunks",
            )

    def render_set(self, token: str, *, expires: int | None, previous_chunks: int) -> list[str]:
        """Set-Cookie values storing ``token``; ``expires`` in epoch seconds (``None``: session cookie)."""
        expiry = f"; Expires={formatdate(expires, usegmt=True)}" if expires is not None else ""
        count = self.chunk_count(token)
        if count == 0:
            headers = [self._line(self.name, token, expiry)]
        else:
            size = self.chunk_max_length
            headers = [self._line(self.name, f"{CHUNK_MARKER}{count}", expiry)]
            headers.extend(
                self._line(f"{self.name}.{index + 1}", token[index * size : (index + 1) * size], expiry)
                for index in range(count)
            )
        headers.extend(self._expire_chunks(count + 1, previous_chunks))
        return headers

    def render_clear(self, *, previous_chunks: int) -> list[str]:
        """Set-Cookie values expiring the main cookie and every chunk the request carried."""
        return [self._expired(self.name), *self._expire_chunks(1, previous_chunks)]

    def _expire_chunks(self, first: int, last: int) -> list[str]:
        return [self._expired(f"{self.name}.{index}") for index in range(first, last + 1)]

    def render_companion(self, name: str, value: str, expires: int | None, *, readable: bool = True) -> str:
        """Set-Cookie for a companion cookie (the CSRF token, the device cookie): the session
        cookie's attributes and expiry; ``readable`` ones without ``HttpOnly``."""
        expiry = f"; Expires={formatdate(expires, usegmt=True)}" if expires is not None else ""
        return f"{name}={value}{self.attributes}{expiry}{self._companion_flags(readable)}"

    def render_companion_clear(self, name: str, *, readable: bool = True) -> str:
        """Set-Cookie expiring a companion cookie."""
        return f"{name}=; Max-Age=0{self.attributes}; Expires={_EPOCH}{self._companion_flags(readable)}"

    def _companion_flags(self, readable: bool) -> str:
        if readable:
            return self.flags.replace("; HttpOnly", "")
        return self.flags if "; HttpOnly" in self.flags else f"; HttpOnly{self.flags}"

    def _expired(self, name: str) -> str:
        return f"{name}=; Max-Age=0{self.attributes}; Expires={_EPOCH}{self.flags}"

    def _line(self, name: str, value: str, expiry: str) -> str:
        return f"{name}={value}{self.attributes}{expiry}{self.flags}"
