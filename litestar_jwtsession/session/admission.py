"""The guards' fast read: a session cookie that the verified-token cache vouches for.

Most guarded requests carry one plain session cookie that an earlier request already verified.
:func:`admit_cached` finds that cookie and takes its claims from the codec's cache, time checks
included, without building the request's session objects: they are built later only if something
asks for the session, and are then seeded with the :class:`Admission` instead of reading the token
again. Every other case returns ``None`` and the full read (:meth:`Session.load`) decides, with
its precise errors and its hooks: a token in the session header, a chunked or repeated cookie, a
token the cache does not hold or whose time window has passed, a typed-claims mismatch, hooks that
watch reads (``on_read``, ``on_key_lookup``), a revocation store, or a CSRF check to make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from litestar_jwtsession.errors import SessionError
from litestar_jwtsession.session.claims import convert_claims
from litestar_jwtsession.session.cookies import CHUNK_MARKER, parse_cookie_value
from litestar_jwtsession.session.csrf import SAFE_METHODS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.session.config import SessionConfig

__all__ = ("Admission", "SessionInstall", "admit_cached")


class SessionInstall(NamedTuple):
    """Says sessions are installed: kept in the app's state by the plugin, and put in the ASGI
    scope once a response has started. The first session access of a request turns it into a
    :class:`RequestSessions`, so a request that never touches a session allocates nothing.
    (A tuple: one is built per request whose response is done, and tuples are cheap.)"""

    setup: Any
    """Whatever installed the sessions (the plugin), for guards and the refresh fallback."""
    response_started: bool = False
    exclude_opt_key: str | None = None
    """A route ``opt`` key that opts the route out of sessions."""
    finished: Mapping[str, Any] | None = None
    """Once the response is done: the request's sessions by name (``Session`` objects, typed
    loosely so this marker does not depend on the session module), whose final tokens are read instead of
    the request's, so a later access (a background task) sees what the response carried."""


class Admission(NamedTuple):
    """A cookie token admitted from the cache; kept in the ASGI scope until a session is built."""

    install: SessionInstall
    config: SessionConfig[Any]
    token: str
    claims: dict[str, Any]
    typed: Any
    """``claims`` converted to ``config.claims``, or ``claims`` itself (``request.auth``)."""
    payload: bytes
    """The verified JSON payload. A session built later takes its ``id``, times and ``data`` from
    a fresh decoding of it, so code that changes ``request.auth`` before then (a user lookup, a
    handler) does not change the session, as with the full read."""


def admit_cached(
    install: SessionInstall, config: SessionConfig[Any], scope: Mapping[str, Any]
) -> Admission | None:
    """The admission of ``config``'s session cookie in the ASGI ``scope``, if the cache vouches for it."""
    if config.cookie_spec is None or config.hooks.hooks_reads:
        return None
    csrf = config.name in getattr(install.setup, "csrf_sessions", ())
    if csrf and scope.get("method", "GET") not in SAFE_METHODS:  # (a WebSocket has no method)
        return None
    if getattr(install.setup, "session_store", None) is not None:
        return None  # revocation is checked by the full read
    header_key = config.header_key
    raw = None
    for name, value in scope["headers"]:  # a plain loop beats building an index for one lookup
        if name == b"cookie":
            if raw is not None:
                return None  # a split Cookie header (HTTP/2)
            raw = value
        elif name == header_key:
            return None  # the session header wins over the cookie
    if raw is None:
        return None
    token = parse_cookie_value(raw).get(config.name)
    if not token or token.startswith(CHUNK_MARKER):
        return None
    payload = config.codec.cache.payload(token, config.clock())
    if payload is None:
        return None
    claims: dict[str, Any] = msgspec.json.decode(payload)
    try:
        typed = claims if config.claims is None else convert_claims(config, claims)
    except SessionError:
        return None
    # tuple's own constructor: the one NamedTuple generates is a slower Python function
    return tuple.__new__(Admission, (install, config, token, claims, typed, payload))
