"""Reading ``Set-Cookie`` header values the way the test helpers need them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

__all__ = (
    "COMPANION_SUFFIXES",
    "SetCookie",
    "chunk_index",
    "companion_of",
    "parse_set_cookie",
    "set_cookies",
)

_CHUNK = re.compile(r"(?P<name>.+)\.(?P<index>[1-9][0-9]*)")
COMPANION_SUFFIXES = ("-csrf", "-device")
"""Cookies written and expired together with a session cookie: its readable CSRF token and the
refresh session's device cookie (the rotation's client key)."""


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One ``Set-Cookie`` header value."""

    name: str
    value: str
    attributes: dict[str, str | bool] = field(default_factory=dict)
    """Attributes by lower-case name: their value, or ``True`` for a flag such as ``Secure``."""
    raw: str = ""

    @property
    def max_age(self) -> int | None:
        """``Max-Age`` in seconds (``None``: absent or unreadable)."""
        return self._attribute("max-age", int)

    @property
    def expires(self) -> float | None:
        """``Expires`` in seconds since the epoch (``None``: absent or unreadable)."""
        return self._attribute("expires", lambda value: parsedate_to_datetime(value).timestamp())

    def _attribute(self, name: str, convert: Callable[[str], _T]) -> _T | None:
        value = self.attributes.get(name)
        if not isinstance(value, str):
            return None
        try:
            return convert(value)
        except (TypeError, ValueError):
            return None

    def expired_at(self, now: float) -> bool:
        """Whether a browser receiving this cookie at ``now`` removes it (``Max-Age`` wins over
        ``Expires``, as RFC 6265 says)."""
        max_age = self.max_age
        if max_age is not None:
            return max_age <= 0
        expires = self.expires
        return expires is not None and expires <= now


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attributes: dict[str, str | bool] = {}
    for part in rest:
        key, sep, attribute = part.strip().partition("=")
        if key:
            attributes[key.lower()] = attribute.strip() if sep else True
    return SetCookie(name.strip(), value.strip(), attributes, header)


def set_cookies(response: httpx.Response) -> list[SetCookie]:
    """The response's ``Set-Cookie`` values, in order."""
    return [parse_set_cookie(header) for header in response.headers.get_list("set-cookie")]


def companion_of(cookie_name: str, session_names: frozenset[str] | set[str]) -> str | None:
    """The session among ``session_names`` that cookie ``cookie_name`` belongs to: the session
    cookie itself, one of its chunks (``<name>.<n>``) or a companion (``<name>-csrf``,
    ``<name>-device``); ``None`` for any other cookie."""
    if cookie_name in session_names:
        return cookie_name
    chunk = _CHUNK.fullmatch(cookie_name)
    if chunk is not None and chunk["name"] in session_names:
        return chunk["name"]
    for suffix in COMPANION_SUFFIXES:
        if cookie_name.endswith(suffix) and cookie_name[: -len(suffix)] in session_names:
            return cookie_name[: -len(suffix)]
    return None


def chunk_index(cookie_name: str, session_name: str) -> int | None:
    """``n`` when ``cookie_name`` is chunk ``n`` of ``session_name``."""
    chunk = _CHUNK.fullmatch(cookie_name)
    if chunk is None or chunk["name"] != session_name:
        return None
    return int(chunk["index"])
