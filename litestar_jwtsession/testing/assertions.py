"""Assertions on the session cookies a response writes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from litestar_jwtsession.testing._set_cookie import (
    SetCookie,
    chunk_index,
    companion_of,
    set_cookies,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

__all__ = ("SessionCookie", "assert_session_cookies")

_CHUNK_MARKER = "__chunked__"  # unjwt's (h3's) main-cookie value of a chunked session


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """What one response wrote for one session: its cookie, chunks and companions."""

    name: str
    """The session's name (its main cookie)."""
    state: Literal["set", "cleared"]
    """Whether the response sets the session or expires its cookie."""
    value: str
    """The main cookie's value as written: the token, ``__chunked__N``, or ``""`` when cleared."""
    token: str | None
    """The token, reassembled from its chunks; ``None`` when cleared."""
    chunks: int
    """How many chunk cookies carry the token (0: the main cookie holds it)."""
    attributes: dict[str, str | bool] = field(default_factory=dict)
    """The main cookie's attributes by lower-case name (a flag such as ``Secure`` is ``True``)."""
    companions: dict[str, str | None] = field(default_factory=dict)
    """Companion cookies written with it (``<name>-csrf``, ``<name>-device``): their value, or
    ``None`` when cleared."""

    @property
    def expires(self) -> float | None:
        """The main cookie's ``Expires``, in seconds since the epoch."""
        return SetCookie(self.name, "", self.attributes).expires


def assert_session_cookies(
    response: httpx.Response,
    *,
    set: Iterable[str] | str = (),  # shadows the builtin here only: the word tests read best
    cleared: Iterable[str] | str = (),
    csrf: bool | None = None,
    only: bool = True,
) -> dict[str, SessionCookie]:
    """Assert which sessions ``response`` writes (``set``) and expires (``cleared``), by session
    name, and return what it wrote for each of them.

    A session is *set* when its cookie holds a token that has not already expired: a plain value,
    or unjwt's chunked form (``<name>=__chunked__N`` plus ``<name>.1`` .. ``<name>.N``, all
    present). It is *cleared* when its cookie is expired (``Max-Age=0`` or a past ``Expires``).
    Companion cookies (``<name>-csrf``, ``<name>-device``) must follow their session: set with it,
    cleared with it. ``csrf=True`` also requires each listed session's ``-csrf`` companion, and
    ``csrf=False`` forbids it. With ``only`` (the default) the response may write no other cookie;
    so ``assert_session_cookies(response)`` asserts that it writes none at all.

    Raises ``AssertionError`` listing every difference and the response's ``Set-Cookie`` values.
    """
    wanted: dict[str, Literal["set", "cleared"]] = {name: "set" for name in _names(set)}
    for name in _names(cleared):
        if name in wanted:
            raise ValueError(f"session {name!r} cannot be both set and cleared")
        wanted[name] = "cleared"
    written = _last_per_name(set_cookies(response))
    now = time.time()
    problems: list[str] = []
    found: dict[str, SessionCookie] = {}
    for name, expected in wanted.items():
        cookie, issues = _session_cookie(name, written, now)
        if cookie is None:
            problems.append(f"{name}: expected {expected}, but the response does not write it")
            continue
        problems.extend(issues)
        if cookie.state != expected:
            problems.append(f"{name}: expected {expected}, but it is {cookie.state}")
        problems.extend(_companion_problems(cookie, csrf))
        found[name] = cookie
    if only:
        names = frozenset(wanted)
        extra = [cookie for cookie in written.values() if companion_of(cookie.name, names) is None]
        for other in extra:
            state = "cleared" if other.expired_at(now) else "set"
            problems.append(f"{other.name}: not expected, but the response writes it ({state})")
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        headers = "\n".join(f"    {_shortened(each.raw)}" for each in written.values()) or "    (none)"
        raise AssertionError(
            f"session cookies differ from what was expected:\n{lines}\n  Set-Cookie:\n{headers}"
        )
    return found


def _names(names: Iterable[str] | str) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _last_per_name(cookies: list[SetCookie]) -> dict[str, SetCookie]:
    # a browser applies Set-Cookie values in order: for one name, the last one stands
    return {cookie.name: cookie for cookie in cookies}


def _session_cookie(
    name: str, written: dict[str, SetCookie], now: float
) -> tuple[SessionCookie | None, list[str]]:
    main = written.get(name)
    if main is None:
        return None, []
    issues: list[str] = []
    companions = {
        cookie.name: (None if cookie.expired_at(now) else cookie.value)
        for cookie in written.values()
        if cookie.name != name
        and companion_of(cookie.name, {name}) == name
        and chunk_index(cookie.name, name) is None
    }
    if main.expired_at(now):
        live_chunks = [
            cookie.name
            for cookie in written.values()
            if chunk_index(cookie.name, name) is not None and not cookie.expired_at(now)
        ]
        if live_chunks:
            issues.append(f"{name}: cleared, but its chunks {live_chunks} are still set")
        return SessionCookie(name, "cleared", main.value, None, 0, main.attributes, companions), issues
    if not main.value:
        issues.append(f"{name}: written with an empty value that does not expire it")
    token, chunks = main.value, 0
    if main.value.startswith(_CHUNK_MARKER):
        count_text = main.value[len(_CHUNK_MARKER) :]
        chunks = int(count_text) if count_text.isdigit() else 0
        parts = [written.get(f"{name}.{index}") for index in range(1, chunks + 1)]
        missing = [
            f"{name}.{index}"
            for index, part in enumerate(parts, 1)
            if part is None or not part.value or part.expired_at(now)
        ]
        if chunks == 0 or missing:
            issues.append(f"{name}: announces {chunks} chunks, but {missing or 'none'} are missing or empty")
        token = "".join(part.value for part in parts if part is not None)
    return SessionCookie(name, "set", main.value, token, chunks, main.attributes, companions), issues


def _companion_problems(cookie: SessionCookie, csrf: bool | None) -> list[str]:
    problems = []
    for companion, value in cookie.companions.items():
        if cookie.state == "set" and not value:
            problems.append(
                f"{companion}: written {'empty' if value == '' else 'cleared'} while {cookie.name} is set"
            )
        if cookie.state == "cleared" and value is not None:
            problems.append(f"{companion}: still set while {cookie.name} is cleared")
    csrf_name = f"{cookie.name}-csrf"
    if csrf and csrf_name not in cookie.companions:
        problems.append(f"{csrf_name}: expected with {cookie.name} (csrf=True), but not written")
    if csrf is False and csrf_name in cookie.companions:
        problems.append(f"{csrf_name}: written, but csrf=False")
    return problems


def _shortened(header: str, keep: int = 60) -> str:
    name, _, rest = header.partition("=")
    value, sep, attributes = rest.partition(";")
    if len(value) > keep:
        value = f"{value[:keep]}...({len(value)} characters)"
    return f"{name}={value}{sep}{attributes}"
