"""Cookies that lapse with the session clock, as a browser's do with the real one."""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from litestar_jwtsession.testing._set_cookie import set_cookies

if TYPE_CHECKING:
    from collections.abc import Callable
    from http.cookiejar import Cookie

__all__ = ("drop_expired_cookies",)

ClientT = TypeVar("ClientT", bound="httpx.Client | httpx.AsyncClient")

# clients already following a clock, with that clock (weak: a finished test frees its client)
_FOLLOWING: weakref.WeakKeyDictionary[Any, Callable[[], float]] = weakref.WeakKeyDictionary()


def drop_expired_cookies(client: ClientT, clock: Callable[[], float]) -> ClientT:
    """Make ``client`` forget each cookie once ``clock`` has passed its ``Expires`` (or
    ``Max-Age``, counted from when it arrived), the way a browser does; returns ``client``.

    ``clock`` is the session clock the app's configs use (a
    :class:`~litestar_jwtsession.testing.SessionClock`, or any callable returning seconds since the
    epoch). The client's cookie jar is checked against it before every request and after every
    response, and, with a ``SessionClock``, as soon as the clock moves: after
    ``clock.advance("5m")`` a five-minute access cookie is gone from ``client.cookies`` and is not
    sent again. Works with Litestar's ``TestClient`` and ``AsyncTestClient`` (any ``httpx``
    client). Calling it again for the same client switches it to the new clock.

    Leave it out to test a client that keeps replaying a lapsed cookie.
    """
    previous = _FOLLOWING.get(client)
    _FOLLOWING[client] = clock
    if previous is None:
        _install_hooks(client)
    on_change = getattr(clock, "on_change", None)
    if clock is not previous and callable(on_change):
        reference = weakref.ref(client)
        on_change(lambda now: _moved(reference, clock, now))
    _drop(client, clock())
    return client


def _install_hooks(client: httpx.Client | httpx.AsyncClient) -> None:
    reference = weakref.ref(client)
    if isinstance(client, httpx.AsyncClient):

        async def before_async(request: httpx.Request) -> None:
            _before(reference, request)

        async def after_async(response: httpx.Response) -> None:
            _after(reference, response)

        client.event_hooks["request"].append(before_async)
        client.event_hooks["response"].append(after_async)
    else:

        def before(request: httpx.Request) -> None:
            _before(reference, request)

        def after(response: httpx.Response) -> None:
            _after(reference, response)

        client.event_hooks["request"].append(before)
        client.event_hooks["response"].append(after)


def _moved(reference: weakref.ref[Any], clock: Callable[[], float], now: float) -> None:
    client = reference()
    if client is not None and _FOLLOWING.get(client) is clock:
        _drop(client, now)


def _before(reference: weakref.ref[Any], request: httpx.Request) -> None:
    """Before a request: drop what lapsed, and take it out of the ``Cookie`` header httpx built
    from the jar before this hook ran."""
    client = reference()
    if client is None or client not in _FOLLOWING:
        return
    dropped = _drop(client, _FOLLOWING[client]())
    header = request.headers.get("cookie")
    if not dropped or header is None:
        return
    kept = [pair for pair in header.split("; ") if tuple(pair.split("=", 1)) not in dropped]
    if kept:
        request.headers["cookie"] = "; ".join(kept)
    else:
        del request.headers["cookie"]


def _after(reference: weakref.ref[Any], response: httpx.Response) -> None:
    """After a response (its cookies are in the jar by now): count ``Max-Age`` from the session
    clock rather than the real time the jar used, then drop what lapsed."""
    client = reference()
    if client is None or client not in _FOLLOWING:
        return
    now = _FOLLOWING[client]()
    for cookie in set_cookies(response):
        max_age = cookie.max_age
        if max_age is None or max_age <= 0:
            continue  # a removal: the jar has done it
        path = cookie.attributes.get("path")
        for stored in _jar_cookies(client):
            if stored.name == cookie.name and (not isinstance(path, str) or stored.path == path):
                stored.expires = math.floor(now) + max_age
    _drop(client, now)


def _jar_cookies(client: Any) -> list[Cookie]:
    return list(client.cookies.jar)


def _drop(client: Any, now: float) -> set[tuple[str, str]]:
    """Remove the jar's cookies that have expired at ``now``; their ``(name, value)`` pairs."""
    jar = client.cookies.jar
    dropped: set[tuple[str, str]] = set()
    for cookie in list(jar):
        if cookie.expires is not None and cookie.expires <= now:
            jar.clear(cookie.domain, cookie.path, cookie.name)
            dropped.add((cookie.name, cookie.value or ""))
    return dropped
