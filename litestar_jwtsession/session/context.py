"""The one owner of a request's session state: :class:`RequestContext`.

Created on the first session access of a request (by a guard, a dependency, the functional API),
it holds what the request carries (:class:`~litestar_jwtsession.session.incoming.Incoming`), the
app's policy, the reads guards took from the token cache, and one
:class:`~litestar_jwtsession.session.session.Session` per config name. Guards, providers, the
functional API and the before-send hook all reach the sessions through it, in one direction:
ask the context, get a session, render the cookies, finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from litestar_jwtsession.errors import ErrorCode, SessionError, StoreUnavailableError
from litestar_jwtsession.session.claims import convert_claims
from litestar_jwtsession.session.csrf import SAFE_METHODS, csrf_token, tokens_match
from litestar_jwtsession.session.incoming import CachedRead, Incoming
from litestar_jwtsession.session.session import Session

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.policy import SessionPolicy

__all__ = ("FinishedRequest", "RequestContext")


class RequestContext(Incoming):
    """Everything the sessions of one request share (see the module docstring): what the request
    carries, as an :class:`~litestar_jwtsession.session.incoming.Incoming`, and its sessions."""

    __slots__ = (
        "_cached",
        "_proven",
        "_vouching",
        "connection",
        "hold_cookies",
        "method",
        "policy",
        "response_started",
        "sessions",
        "writable",
    )

    def __init__(
        self,
        policy: SessionPolicy,
        headers: Sequence[tuple[bytes, bytes]],
        connection: Any,
        method: str | None,
        writable: bool,
    ) -> None:
        # One is built per request that reads a session: positional arguments, and Incoming's
        # four fields set here rather than through its __init__, spare a few hundred ns a request.
        self._headers = headers
        self._index = None
        self._cookie_values = None
        self._cookies = None
        self.policy = policy
        self.connection = connection
        """Handed to hooks; ``None`` once the response is done."""
        self.method = method
        """The HTTP method; ``None`` for a WebSocket (read-only: it never needs a CSRF token)."""
        self.writable = writable
        self.sessions: dict[str, Session[Any]] = {}
        self.response_started = False
        self.hold_cookies = False
        """Whether the response must leave the client's session cookies as they are."""
        self._cached: CachedRead | None = None  # a guard's read, until its session is built
        self._vouching: set[str] | None = None  # sessions whose CSRF check is asking the others
        self._proven: dict[str, Any] | None = None  # sessions the CSRF header proved: their sub

    # -- sessions --------------------------------------------------------------------------

    def session(self, config: SessionConfig[Any]) -> Session[Any]:
        """The session of ``config`` in this request, created on first use (sessions go by name)."""
        session = self.sessions.get(config.name)
        if session is None:
            cached = self._cached
            if cached is not None and cached.config.name == config.name:
                self._cached = None
                session = Session.from_cached(cached, self)  # with the guard's config
            else:
                session = Session(config, self)
            self.sessions[config.name] = session
        return session

    def cached_claims(self, config: SessionConfig[Any]) -> Any:
        """The (typed) claims of ``config``'s session when the verified-token cache vouches for
        its cookie and nothing else must run on its read, else ``None`` (then the session's full
        read decides). The read is kept: the session built later starts from it.

        Anything else takes the full read: a session already built, a token in the session header,
        a chunked cookie, a token the cache does not hold or whose time window has passed, a
        typed-claims mismatch, hooks that watch reads (``on_read``, ``on_key_lookup``), a
        revocation store, or a CSRF check to make.
        """
        cached = self._cached
        if cached is not None and cached.config.name == config.name:
            return cached.typed  # a second guard of the same session
        if (
            config.name in self.sessions
            or config.cookie_spec is None
            or config.hooks.hooks_reads
            or self.policy.store is not None
            or (
                self.method is not None
                and self.method not in SAFE_METHODS
                and config.name in self.policy.csrf_sessions
            )
        ):
            return None
        token, from_cookie = self.find_token(config)
        if not from_cookie:
            return None
        payload = config.codec.cache.payload(token, config.clock())  # type: ignore[arg-type]
        if payload is None:
            return None
        claims: dict[str, Any] = msgspec.json.decode(payload)  # the one decoding of this request
        try:
            # what the guard exposes gets its own top level (a dict) or is a struct of its own
            typed = dict(claims) if config.claims is None else convert_claims(config, claims)
        except SessionError:
            return None  # the full read reports the mismatch
        if cached is None:  # one read kept: a second guard's (another session's) is not
            self._cached = CachedRead(config, token, claims, typed)  # type: ignore[arg-type]
        return typed

    # -- CSRF ------------------------------------------------------------------------------

    async def csrf_refusal(
        self, config: SessionConfig[Any], claims: Mapping[str, Any]
    ) -> SessionError | None:
        """The CSRF refusal of this request for ``config``'s cookie-borne token with ``claims``, if
        any: on an unsafe request the CSRF header must hold this session's CSRF token, or that of
        another cookie session of the request that vouches for it (:meth:`_vouches`)."""
        if self.method is None or self.method in SAFE_METHODS:
            return None  # safe methods and (read-only) WebSocket handshakes need no token
        presented = self.header(config.csrf_header)
        jti = claims.get("jti")
        if isinstance(jti, str) and tokens_match(csrf_token(config.csrf_key, jti), presented):
            # remembered: this session may vouch for the others while its own read goes on (an
            # expired access cookie, proven here, whose refresh fallback reads the refresh cookie)
            self._proven = {**(self._proven or {}), config.name: claims.get("sub")}
            return None
        if presented and await self._vouches(config, presented, claims):
            return None
        reason = "missing" if not presented else "invalid"
        return SessionError(
            ErrorCode.CSRF_TOKEN_INVALID,
            f"session {config.name!r}: {reason} CSRF token in {config.csrf_header!r} "
            "for a cookie-borne session on an unsafe request",
        )

    async def _vouches(self, asker: SessionConfig[Any], presented: str, claims: Mapping[str, Any]) -> bool:
        """Whether ``presented`` is the CSRF token of another cookie session of the request that
        verifies and has the same ``sub`` as ``claims``: one readable token then proves the
        request for all of them."""
        vouching = self._vouching = self._vouching or set()
        vouching.add(asker.name)
        try:
            for peer in self.policy.configs:
                if (
                    peer.name in vouching
                    or peer.name not in self.policy.csrf_sessions
                    or peer.csrf_header != asker.csrf_header
                    or peer.name not in self.cookies
                ):
                    continue
                if self._proven is not None and peer.name in self._proven:
                    if self._proven[peer.name] == claims.get("sub"):
                        return True  # the header holds its token, checked by its own read
                    continue
                session = self.session(peer)
                if session.read_in_progress:
                    continue  # its own read is what is asking (e.g. from its refresh fallback)
                await session.load()
                if (
                    session.id is not None
                    and session.token_from_cookie
                    and tokens_match(csrf_token(peer.csrf_key, session.id), presented)
                    and session.data.get("sub") == claims.get("sub")
                ):
                    return True
        except StoreUnavailableError:
            raise
        except SessionError:
            return False
        finally:
            vouching.discard(asker.name)
        return False

    # -- the response ----------------------------------------------------------------------

    def set_cookie_headers(self) -> list[str]:
        """Set-Cookie values for every session whose cookie changed in this request; none when the
        response holds the cookies. Later writes cannot reach the client."""
        self.response_started = True
        headers: list[str] = []
        if self.hold_cookies or not self.sessions:
            return headers
        for name, session in self.sessions.items():
            if session.cookie_action is not None:
                csrf = name in self.policy.csrf_sessions
                headers.extend(session.set_cookie_headers(self.cookies, csrf=csrf))
        return headers

    def finish(self) -> None:
        """The response is done. The context forgets the connection and its sessions are moved to
        a :class:`FinishedRequest`, which refers to neither, so plain reference counting frees the
        request (the cyclic collector would cost more than the session check itself). The
        sessions stay readable, and writable without a cookie; :meth:`resume` takes them back
        when something reaches the request's sessions again (a background task)."""
        self.response_started = True
        self.connection = None
        self._cached = None
        sessions = self.sessions
        if not sessions:
            return
        finished = FinishedRequest(self.policy, self.writable)
        for name, session in list(sessions.items()):
            if not session.attach(finished):
                del sessions[name]  # never read: nothing to keep

    def resume(self, connection: Any) -> None:
        """Serve ``connection`` after the response is done (a background task of the request):
        its sessions are this context's again, read-only for cookies, with a connection for
        their hooks and the store. (This links the request to itself again; it is left to the
        cyclic collector, which only requests with background work pay for.)"""
        self.connection = connection
        for session in self.sessions.values():
            session.attach(self)


class FinishedRequest:
    """What the sessions of a request whose response is done refer to, until something reaches
    the request again: the app's policy (the store), no connection, and no response to write to.
    It refers to no session and no connection, so no reference cycle is left."""

    __slots__ = ("policy", "writable")

    connection = None
    response_started = True

    def __init__(self, policy: SessionPolicy, writable: bool) -> None:
        self.policy = policy
        self.writable = writable

    def find_token(self, config: SessionConfig[Any]) -> tuple[str | None, bool]:
        return None, False  # (sessions here were read while the request was served)

    async def csrf_refusal(
        self, config: SessionConfig[Any], claims: Mapping[str, Any]
    ) -> SessionError | None:
        return None  # no request to forge: nothing is read from one
