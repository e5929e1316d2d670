"""One request's session state: the :class:`Session` object and the per-request registry.

The incoming token is read lazily, on the first access, and at most once per request even when
several coroutines ask concurrently. ``update()`` and ``clear()`` only change state and mark the
cookie; the middleware renders Set-Cookie headers from the final state when the response starts,
so the last write of a request wins and ``clear()`` sticks.
"""

from __future__ import annotations

import asyncio
import copy
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

import msgspec

from litestar_jwtsession.errors import ErrorCode, SessionError, StoreUnavailableError, safe_text
from litestar_jwtsession.jose.claims import validate_claims
from litestar_jwtsession.session.admission import SessionInstall
from litestar_jwtsession.session.claims import (
    RESERVED_CLAIMS,
    SessionSnapshot,
    convert_claims,
    floor_ms,
    snapshot_of,
)
from litestar_jwtsession.session.cookies import (
    CHUNK_MARKER,
    parse_cookie_header,
    parse_cookie_value,
    read_cookie,
)
from litestar_jwtsession.session.csrf import SAFE_METHODS, csrf_token, tokens_match
from litestar_jwtsession.session.hooks import HookEvent

if TYPE_CHECKING:
    from litestar_jwtsession.session.admission import Admission
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.revocation import SessionStore

__all__ = (
    "REQUEST_REFUSALS",
    "RequestSessions",
    "Session",
    "SessionInstall",
    "SessionUpdate",
)

ClaimsT = TypeVar("ClaimsT")

SessionUpdate = (
    Mapping[str, Any] | msgspec.Struct | Callable[[dict[str, Any]], Mapping[str, Any] | msgspec.Struct | None]
)
"""What ``update()`` accepts: a mapping, a struct, or a callable receiving the live data."""


# Refusals that no hook can undo: the cookie is expired in the response.
_REVOKED_CODES = frozenset({ErrorCode.SESSION_REVOKED, ErrorCode.REFRESH_TOKEN_REUSED})

REQUEST_REFUSALS = frozenset({ErrorCode.CSRF_TOKEN_INVALID, ErrorCode.JWE_DERIVATION_BUSY})
"""Refusals that blame the request, not the token: it reads as anonymous for this request only,
and nothing may expire or revoke it on that account (a forged request must not log anyone out,
nor a flood of forged tokens that keeps the PBES2 derivation pool busy)."""

# Sessions whose incoming token is being read in the current task: a hook running inside that
# read (e.g. an ``on_expire`` refresh calling ``update()``) must not wait for the read to finish.
_LOADING: ContextVar[frozenset[int]] = ContextVar("litestar_jwtsession_loading", default=frozenset())


class RequestSessions:
    """Everything the sessions of one request share: the request's headers and cookies, whether a
    response can still carry cookies, and one :class:`Session` per config name."""

    __slots__ = (
        "_cookies",
        "_headers",
        "_index",
        "_vouching",
        "admitted",
        "connection",
        "finished",
        "hold_cookies",
        "response_started",
        "sessions",
        "setup",
        "writable",
    )

    def __init__(self, headers: Iterable[tuple[bytes, bytes]], *, writable: bool, setup: Any = None) -> None:
        self._headers = headers if isinstance(headers, list | tuple) else list(headers)
        self._index: dict[bytes, bytes] | None = None
        self._cookies: dict[str, str] | None = None
        self.writable = writable
        self.setup = setup
        self.response_started = False
        self.connection: Any = None
        self.sessions: dict[str, Session[Any]] = {}
        self.finished: Mapping[str, Session[Any]] | None = None  # see ``SessionInstall.finished``
        self.admitted: Admission | None = None  # a guard's cached read, taken over by its session
        self._vouching: set[str] = set()  # sessions whose CSRF check is asking the others
        self.hold_cookies = False  # the response must not change the client's session cookies

    def _header_index(self) -> dict[bytes, bytes]:
        # one pass in C: reversed, so the first value of a repeated header wins
        index = self._index = dict(reversed(self._headers))
        return index

    def header(self, name: str | bytes) -> str | None:
        """First value of request header ``name`` (lower case)."""
        raw = name if type(name) is bytes else cast("str", name).encode("latin-1")
        value = (self._index or self._header_index()).get(raw)
        return None if value is None else value.decode("latin-1")

    @property
    def cookies(self) -> dict[str, str]:
        cookies = self._cookies
        if cookies is None:
            index = self._index or self._header_index()
            if len(index) == len(self._headers):  # no repeated header: one Cookie header at most
                value = index.get(b"cookie")
                cookies = {} if value is None else parse_cookie_value(value)
            else:  # one Cookie header is the rule (HTTP/1.1); HTTP/2 may split it
                values = [value for key, value in self._headers if key == b"cookie"]
                cookies = (
                    parse_cookie_value(values[0])
                    if len(values) == 1
                    else parse_cookie_header([value.decode("latin-1") for value in values])
                )
            self._cookies = cookies
        return cookies

    def session(self, config: SessionConfig[Any]) -> Session[Any]:
        """The session of ``config`` for this request, created on first use."""
        session = self.sessions.get(config.name)
        if session is None:
            admitted = self.admitted
            if admitted is not None and admitted.config.name == config.name:
                # the session the guard's read would have built: with the guard's config
                session = Session(admitted.config, self)
                session._admit(admitted)
            else:
                session = Session(config, self)
            self.sessions[config.name] = session
        return session

    async def vouches(self, asker: Session[Any], presented: str, claims: Mapping[str, Any]) -> bool:
        """Whether ``presented``, the CSRF header of this request, is the CSRF token of another
        cookie session of the request that verifies and has the same ``sub`` as ``claims``, the
        asking session's token: one readable token then proves the request for all of them."""
        config = asker.config
        self._vouching.add(config.name)
        try:
            for peer in getattr(self.setup, "configs", ()):
                if (
                    peer.name in self._vouching
                    or not self.csrf_on(peer)
                    or peer.csrf_header != config.csrf_header
                    or peer.name not in self.cookies
                ):
                    continue
                session = self.session(peer)
                if session._reading and not session._loaded:
                    continue  # its own read is what is asking (e.g. from its refresh fallback)
                await session.load()
                if (
                    session.id is not None
                    and session._token_from_cookie
                    and tokens_match(csrf_token(peer.csrf_key, session.id), presented)
                    and session.data.get("sub") == claims.get("sub")
                ):
                    return True
        except StoreUnavailableError:
            raise
        except SessionError:
            return False
        finally:
            self._vouching.discard(config.name)
        return False

    def csrf_on(self, config: SessionConfig[Any]) -> bool:
        """Whether ``config``'s cookie needs a CSRF token here: as the installer decided for its
        app (``setup.csrf_sessions``), else as the config declares."""
        names = getattr(self.setup, "csrf_sessions", None)
        if names is None:
            return config.csrf
        return config.name in names

    def fallback_for(self, config: SessionConfig[Any]) -> Callable[[HookEvent], Awaitable[Any]] | None:
        """What re-issues ``config``'s session when it is missing (the installer's refresh
        fallback), after the config's own ``on_missing`` hooks; ``None`` for most sessions."""
        if getattr(self.setup, "fallback", None) != config.name:
            return None
        return cast("Callable[[HookEvent], Awaitable[Any]]", self.setup.refresh_fallback)

    def release(self) -> None:
        """Forget the connection and the sessions once the response is done (breaks the cycles);
        the sessions themselves stay readable."""
        self.connection = None
        self.sessions = {}

    def set_cookie_headers(self) -> list[str]:
        """Set-Cookie values for every session whose cookie changed in this request."""
        headers: list[str] = []
        if self.hold_cookies:
            return headers
        for session in self.sessions.values():
            headers.extend(session.set_cookie_headers())
        return headers


class Session(Generic[ClaimsT]):
    """A session of one config in one request. Attributes are live.

    ``created_at``/``expires_at`` are milliseconds since the epoch, floored to whole seconds, as in
    unjwt. ``data`` is the payload without ``jti``, ``iat`` and ``exp``.
    """

    __slots__ = (
        "_claims",
        "_cookie_action",
        "_created_at",
        "_incoming",
        "_load_error",
        "_loaded",
        "_loading",
        "_reading",
        "_refusal",
        "_request",
        "_token_from_cookie",
        "config",
        "data",
        "expires_at",
        "id",
        "token",
    )

    def __init__(self, config: SessionConfig[ClaimsT], request: RequestSessions) -> None:
        self.config = config
        self._request = request
        self.id: str | None = None
        """The ``jti`` of the current token; ``None`` for an anonymous session."""
        self._created_at: int | None = None  # set on first read: a new session is created "now"
        self.expires_at: int | None = None
        self.data: dict[str, Any] = {}
        self.token: str | None = None
        self._claims: Any = None
        self._cookie_action: Literal["set", "clear"] | None = None
        self._token_from_cookie = False
        self._loaded = False
        self._reading = False
        self._loading: asyncio.Event | None = None
        self._load_error: BaseException | None = None
        self._incoming: dict[str, Any] | None = None  # claims of the verified incoming token
        self._refusal: ErrorCode | None = None

    @property
    def created_at(self) -> int:
        created = self._created_at
        if created is None:
            created = self._created_at = floor_ms(self.config.clock())
        return created

    @created_at.setter
    def created_at(self, value: int) -> None:
        self._created_at = value

    # -- reading ---------------------------------------------------------------------------

    @property
    def claims(self) -> ClaimsT | None:
        """The verified payload: an instance of ``config.claims``, or the claims ``dict``."""
        return cast("ClaimsT | None", self._claims)

    @property
    def cookie_action(self) -> Literal["set", "clear"] | None:
        """What the response does with this session's cookie: set it, clear it, or nothing."""
        return self._cookie_action

    @property
    def cookie_expires(self) -> int | None:
        """The ``Expires`` of this session's cookie (and its companions), in epoch seconds:
        ``max_age`` after it was issued; ``None`` (a browser-session cookie) without ``max_age``."""
        max_age = self.config.max_age_seconds
        return None if max_age is None else self.created_at // 1000 + max_age

    @property
    def refusal(self) -> ErrorCode | None:
        """Why the incoming token of this request was refused (``None``: none was, or none came)."""
        return self._refusal

    @property
    def is_valid(self) -> bool:
        """Whether the session holds a verified or freshly issued token."""
        return self.id is not None and self.token is not None

    async def load(self) -> Session[ClaimsT]:
        """Read the incoming token once per request; concurrent callers share that one read."""
        if self._loaded:
            return self
        if self._reading:
            return await self._join_read()
        self._reading = True
        try:
            # inline rather than in helper coroutines: this runs on every guarded request
            token, from_cookie = self._find_token()
            if token is None:
                await self._fire_missing()
            else:
                self.token = token
                self._token_from_cookie = from_cookie
                try:
                    if self._verifies_now():
                        claims, typed = self._checked(token)
                        if from_cookie and self._request.csrf_on(self.config):
                            await self._check_csrf(claims)
                    else:
                        claims, typed = await self._verify(token, from_cookie=from_cookie)
                except StoreUnavailableError:
                    raise  # no verdict on the token: the request fails, the cookie stays
                except SessionError as error:
                    self._refusal = error.code
                    await self._refuse(token, error)
                else:
                    self._incoming = claims
                    self._apply(claims, typed, token)
                    hooks = self.config.hooks
                    if hooks.has("on_read"):
                        await self._while_reading(hooks.fire("on_read", self._event(session=self)))
        except BaseException as exc:
            # A hook refused the token: the session stays anonymous for the rest of the request.
            self._load_error = exc
            self._reset()
            raise
        finally:
            self._loaded = True
            if self._loading is not None:
                self._loading.set()
        return self

    async def _join_read(self) -> Session[ClaimsT]:
        """Wait for the read another coroutine of this request started."""
        if id(self) in _LOADING.get():
            return self  # re-entered from a hook of our own read
        if self._loading is None:  # created only when someone has to wait
            self._loading = asyncio.Event()
        await self._loading.wait()
        if self._load_error is not None:
            raise self._load_error
        return self

    async def _while_reading(self, hook_calls: Awaitable[Any]) -> Any:
        """Await hooks fired by our own read, marked so that the ``update()``/``clear()`` they call
        does not wait for that read to finish (it would wait for itself)."""
        marker = _LOADING.set(_LOADING.get() | {id(self)})
        try:
            return await hook_calls
        finally:
            _LOADING.reset(marker)

    def _find_token(self) -> tuple[str | None, bool]:
        config, request = self.config, self._request
        if request.finished is not None and config.name in request.finished:
            return request.finished[config.name].token, False
        if config.header_key is not None:
            header = request.header(config.header_key)
            if header:
                token = header[7:].strip() if header.startswith("Bearer ") else header
                if token:
                    return token, False
        if config.cookie_spec is not None:
            cookies = request.cookies
            value = cookies.get(config.name)
            if value and not value.startswith(CHUNK_MARKER):
                return value, True  # the common case: one plain cookie
            chunked = read_cookie(cookies, config.name).token if value else None
            if chunked:
                return chunked, True
        return None, False

    async def _refuse(self, token: str, error: SessionError) -> None:
        """Report a refused incoming token; an expired one may then be re-issued (``on_missing``)."""
        if (
            self._token_from_cookie
            and self._request.csrf_on(self.config)
            and error.code is ErrorCode.JWT_EXPIRED
        ):
            # an expired cookie on a forged request must not reach on_expire (which may re-issue)
            error = await self._csrf_error(error.claims) or error
            self._refusal = error.code
        if not await self._reject(token, error):
            await self._fire_missing()

    async def _fire_missing(self) -> None:
        if self.is_valid or not self._can_write():
            return
        hooks = self.config.hooks
        if hooks.has("on_missing"):
            await self._while_reading(hooks.fire("on_missing", self._event(session=self)))
        fallback = self._request.fallback_for(self.config)
        if fallback is not None and not self.is_valid:
            await self._while_reading(fallback(self._event(session=self)))

    def _verifies_now(self) -> bool:
        """Whether a token can be verified without awaiting anything (no key-lookup hook, no store,
        no PBES2 key to derive off the event loop)."""
        config = self.config
        if config.hooks.has("on_key_lookup") or config.codec.derives_keys:
            return False
        return self._store() is None

    def _checked(self, token: str) -> tuple[dict[str, Any], Any]:
        """Signature or decryption, claims and typed claims: what the token itself proves."""
        config = self.config
        claims = config.codec.decode(token, now=config.clock())
        typed = claims if config.claims is None else convert_claims(config, claims)
        return claims, typed

    async def _decoded(self, token: str, *, refusable: bool = True) -> tuple[dict[str, Any], Any]:
        """:meth:`_checked` with the key a key-lookup hook gives and any PBES2 key derived off the
        event loop (``refusable=False``: wait for the derivation pool rather than be refused)."""
        config = self.config
        key = await self._key_for(token)
        claims = await config.codec.decode_async(token, now=config.clock(), key=key, refusable=refusable)
        return claims, convert_claims(config, claims)

    async def _verify(
        self, token: str, *, from_cookie: bool, refusable: bool = True
    ) -> tuple[dict[str, Any], Any]:
        """Every check an incoming token passes: :meth:`_decoded`, CSRF (cookie-borne tokens), then
        revocation. Returns ``(claims, typed claims)``."""
        claims, typed = await self._decoded(token, refusable=refusable)
        if from_cookie and self._request.csrf_on(self.config):
            await self._check_csrf(claims)  # before revocation: a forged request changes no cookie
        store = self._store()
        if store is not None:
            await self._check_revoked(store, claims)
        return claims, typed

    async def _csrf_error(self, claims: dict[str, Any]) -> SessionError | None:
        """The CSRF refusal of this request for a cookie-borne token with ``claims``, if any: the
        header must hold this session's CSRF token or that of another cookie session of the
        request vouching for it (see :meth:`RequestSessions.vouches`)."""
        request = self._request
        scope = getattr(request.connection, "scope", None) or {}
        if scope.get("type") == "websocket" or scope.get("method") in SAFE_METHODS:
            return None  # safe methods and (read-only) WebSocket handshakes need no token
        config = self.config
        presented = request.header(config.csrf_header)
        jti = claims.get("jti")
        if isinstance(jti, str) and tokens_match(csrf_token(config.csrf_key, jti), presented):
            return None
        if presented and await request.vouches(self, presented, claims):
            return None
        reason = "missing" if not presented else "invalid"
        return SessionError(
            ErrorCode.CSRF_TOKEN_INVALID,
            f"session {config.name!r}: {reason} CSRF token in {config.csrf_header!r} "
            "for a cookie-borne session on an unsafe request",
        )

    async def _check_csrf(self, claims: dict[str, Any]) -> None:
        error = await self._csrf_error(claims)
        if error is not None:
            # the token is genuine: a clear() in this request still revokes it
            self._incoming = claims
            raise error

    @property
    def csrf_token(self) -> str | None:
        """The CSRF token of this session (``None`` without an id); see ``SessionConfig.csrf``."""
        return None if self.id is None else csrf_token(self.config.csrf_key, self.id)

    def _store(self) -> SessionStore | None:
        """The revocation backend of whatever installed the sessions (``None``: no revocation)."""
        return cast("SessionStore | None", getattr(self._request.setup, "session_store", None))

    async def _check_revoked(self, store: SessionStore, claims: dict[str, Any]) -> None:
        """Raise ``ERR_SESSION_REVOKED`` for a revoked token (the store may raise its own error)."""
        revoked = await self._while_reading(store.is_revoked(self._request.connection, self.config, claims))
        if revoked:
            raise SessionError(
                ErrorCode.SESSION_REVOKED,
                f"session {self.config.name!r}: token {safe_text(claims.get('jti'), quote=True)} was revoked",
                claims=dict(claims),
            )

    async def _key_for(self, token: str) -> Any:
        """The key an ``on_key_lookup`` hook picks for ``token`` (``None``: the configured keys)."""
        if not self.config.hooks.has("on_key_lookup"):
            return None
        try:
            header = self.config.codec.header(token)  # inside: only SessionErrors leave this method
            return await self._while_reading(
                self.config.hooks.first("on_key_lookup", self._event(header=header))
            )
        except SessionError:
            raise
        except Exception as exc:
            raise SessionError(ErrorCode.KEY_LOOKUP_FAILED, f"key lookup failed: {safe_text(exc)}") from exc

    async def _reject(self, token: str, error: SessionError) -> bool:
        """Fire ``on_error`` (returns True) or ``on_expire`` (returns False) for a refused token."""
        hooks = self.config.hooks
        if error.code in _REVOKED_CODES and self._token_from_cookie and self._can_write():
            self._cookie_action = "clear"  # a revoked cookie never becomes valid again: drop it
        if error.code is not ErrorCode.JWT_EXPIRED:
            await self._while_reading(hooks.fire("on_error", self._event(session=self, error=error)))
            return True
        if self._token_from_cookie and self.config.cookie_spec is not None and self._request.writable:
            # A browser would keep sending the lapsed cookie; expire it unless a hook re-issues.
            self._cookie_action = "clear"
        expired = snapshot_of(error.claims, token, with_data=False)
        await self._while_reading(hooks.fire("on_expire", self._event(session=expired, error=error)))
        return False

    def _admit(self, admitted: Admission) -> None:
        """Take over a cookie token a guard admitted from the cache (see ``session.admission``):
        the read is done, with the outcome :meth:`load` would have had when the guard ran."""
        self._token_from_cookie = True
        self._incoming = admitted.claims
        self._apply(msgspec.json.decode(admitted.payload), admitted.typed, admitted.token)
        self._loaded = True

    def _apply(self, claims: dict[str, Any], typed: Any, token: str) -> None:
        iat = claims["iat"]
        exp = claims.get("exp")
        max_age = self.config.max_age_seconds
        self.id = claims["jti"]
        # NumericDates are validated numbers; whole seconds (the usual case) need no flooring
        self._created_at = iat * 1000 if type(iat) is int else floor_ms(iat)
        if exp is not None:
            self.expires_at = exp * 1000 if type(exp) is int else floor_ms(exp)
        elif max_age is not None:
            self.expires_at = floor_ms(iat + max_age)
        else:
            self.expires_at = None
        data = dict(claims)
        for name in RESERVED_CLAIMS:
            data.pop(name, None)
        self.data = data
        self.token = token
        self._claims = typed

    # -- writing ---------------------------------------------------------------------------

    async def update(self, update: SessionUpdate | None = None, *, replace: bool = False) -> Session[ClaimsT]:
        """Merge ``update`` into ``data`` (or replace it), mint a new ``jti``/``iat``, seal, set the cookie.

        On failure ``data``, ``id``, ``token`` and the times are rolled back and the error re-raised.
        """
        return await self._update(update, replace=replace, config=self.config)

    async def _update(
        self, update: SessionUpdate | None, *, replace: bool, config: SessionConfig[Any]
    ) -> Session[ClaimsT]:
        self._check_writable("update")
        await self.load()
        before = self.snapshot()
        saved = (self.id, self.created_at, self.expires_at, self.token, self._claims)
        try:
            patch = _as_mapping(update(self.data) if callable(update) else update)
        except BaseException:
            self._restore(before, saved)  # an updater may have mutated data in place
            raise
        if replace:
            self.data.clear()
        self.data.update((key, value) for key, value in patch.items() if key not in RESERVED_CLAIMS)

        iat = math.floor(config.clock())
        jti = (config.generate_id() if config.generate_id else None) or str(uuid.uuid4())
        claims: dict[str, Any] = {**self.data, "jti": jti, "iat": iat}
        max_age = config.max_age_seconds
        if max_age is not None:
            claims["exp"] = iat + max_age
        try:
            # never write a token this config's own reader would refuse (issuer, audience,
            # subject, required claims, typed claims)
            validate_claims(claims, config.codec.rules, config.clock())
            typed = convert_claims(self.config, claims)
            token = await config.encode_token_async(claims)
            if config.cookie_spec is not None:
                config.cookie_spec.check_fits(token)
        except Exception as exc:
            self._restore(before, saved)
            error = (
                exc
                if isinstance(exc, SessionError)
                else SessionError(
                    ErrorCode.SESSION_SEAL_FAILED,
                    f"session {config.name!r} could not be sealed: {safe_text(exc)}",
                )
            )
            await config.hooks.fire("on_error", self._event(session=self, error=error))
            if error is exc:
                raise
            raise error from exc

        self.id = jti
        self.created_at = iat * 1000
        self.expires_at = None if max_age is None else (iat + max_age) * 1000
        self.token = token
        self._claims = typed
        if config.cookie_spec is not None:
            self._cookie_action = "set"
        await config.hooks.fire("on_update", self._event(session=self, old_session=before))
        return self

    async def clear(self) -> Session[ClaimsT]:
        """Drop the session and expire its cookie (every chunk); it stays cleared for this request.

        With a session store configured (``JWTSessionPlugin(store=...)``) the token is also revoked
        until its natural expiry: the incoming one and, if this request re-issued it, the current
        one. A revoked token then reads as anonymous everywhere (``on_error``, ``ERR_SESSION_REVOKED``).
        """
        self._check_writable("clear")
        await self.load()
        before = self.snapshot() if self.id is not None or self.token is not None else None
        store = self._store()
        if store is not None:
            await self._revoke(store)
        self._reset()
        if self.config.cookie_spec is not None:
            self._cookie_action = "clear"
        await self.config.hooks.fire("on_clear", self._event(old_session=before))
        return self

    async def _revoke(self, store: SessionStore) -> None:
        revoked: list[dict[str, Any]] = []
        if self.id is not None:
            revoked.append(self.state_claims(self.id))
        incoming = self._incoming
        if incoming is not None and incoming.get("jti") != self.id:
            revoked.append(incoming)
        for claims in revoked:
            await store.revoke(self._request.connection, self.config, claims)
        self._incoming = None

    async def adopt(self, token: str) -> Session[ClaimsT]:
        """Make ``token``, a token of this config issued elsewhere, the current one and set its cookie.

        The refresh-token rotation uses it to replay the successor that a concurrent request
        already issued. The token is verified and checked against the session store like an
        incoming one; if it fails, a :class:`SessionError` is raised and nothing changes.
        Fires ``on_update``.
        """
        self._check_writable("adopt")
        await self.load()
        before = self.snapshot()
        # from the store, not a cookie: our own successor, worth waiting for a busy derivation pool
        claims, typed = await self._verify(token, from_cookie=False, refusable=False)
        self._apply(claims, typed, token)
        if self.config.cookie_spec is not None:
            self._cookie_action = "set"
        await self.config.hooks.fire("on_update", self._event(session=self, old_session=before))
        return self

    def _can_write(self) -> bool:
        request = self._request
        return self.config.cookie_spec is None or (request.writable and not request.response_started)

    def _check_writable(self, action: str) -> None:
        if self._can_write():
            return  # without cookies a new token only lives in ``session.token``
        if not self._request.writable:
            raise SessionError(
                ErrorCode.SESSION_READ_ONLY,
                f"Cannot {action} session {self.config.name!r} on a read-only connection "
                "(a WebSocket cannot set cookies); use cookie=False for header-borne sessions",
            )
        if self._request.response_started:
            raise SessionError(
                ErrorCode.SESSION_READ_ONLY,
                f"Cannot {action} session {self.config.name!r}: the response headers were already sent",
            )

    def _reset(self) -> None:
        self.id = None
        self.token = None
        self.expires_at = None
        self.data = {}
        self._claims = None
        self.created_at = floor_ms(self.config.clock())

    def _restore(self, before: SessionSnapshot, saved: tuple[Any, ...]) -> None:
        self.id, self.created_at, self.expires_at, self.token, self._claims = saved
        self.data.clear()  # in place: references to ``session.data`` stay valid
        self.data.update(before.data)

    # -- output ----------------------------------------------------------------------------

    def set_cookie_headers(self) -> list[str]:
        spec = self.config.cookie_spec
        if spec is None or self._cookie_action is None:
            return []
        previous = read_cookie(self._request.cookies, spec.name).chunks
        csrf_name = self.config.csrf_cookie_name if self._request.csrf_on(self.config) else None
        if self._cookie_action == "clear" or self.token is None:
            cleared = spec.render_clear(previous_chunks=previous)
            if csrf_name is not None:
                cleared.append(spec.render_companion_clear(csrf_name))
            return cleared
        expires = self.cookie_expires
        headers = spec.render_set(self.token, expires=expires, previous_chunks=previous)
        if csrf_name is not None and self.id is not None:
            headers.append(
                spec.render_companion(csrf_name, csrf_token(self.config.csrf_key, self.id), expires)
            )
        return headers

    def state_claims(self, jti: str) -> dict[str, Any]:
        """The claims of the current state under ``jti``: ``data`` plus ``jti``, ``iat`` (and ``exp``)."""
        claims: dict[str, Any] = {**self.data, "jti": jti, "iat": self.created_at // 1000}
        if self.expires_at is not None:
            claims["exp"] = self.expires_at // 1000
        return claims

    def snapshot(self) -> SessionSnapshot:
        """A deep copy of the current state."""
        return SessionSnapshot(
            self.id, self.created_at, self.expires_at, copy.deepcopy(self.data), self.token
        )

    def as_json(self) -> dict[str, Any]:
        """unjwt's JSON shape of a session (``None`` values left out)."""
        shape = {
            "id": self.id,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "data": self.data,
            "token": self.token,
        }
        return {key: value for key, value in shape.items() if value is not None}

    def _event(self, **attributes: Any) -> HookEvent:
        return HookEvent(connection=self._request.connection, config=self.config, **attributes)

    def __repr__(self) -> str:
        return f"Session(name={self.config.name!r}, id={self.id!r}, data={self.data!r})"


def _as_mapping(update: Mapping[str, Any] | msgspec.Struct | None) -> Mapping[str, Any]:
    if update is None:
        return {}
    if isinstance(update, msgspec.Struct):
        return cast("dict[str, Any]", msgspec.to_builtins(update))
    if isinstance(update, Mapping):
        return update
    raise TypeError(
        f"session update must be a mapping, a msgspec.Struct or None, got {type(update).__name__}"
    )
