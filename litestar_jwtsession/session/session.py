"""The session of one config in one request: its read, its writes and its cookie.

The incoming token is read lazily, on the first access, and at most once per request even when
several coroutines ask concurrently. ``update()`` and ``clear()`` only change state and mark the
cookie; the cookies are rendered from the final state when the response starts, so the last
write of a request wins and ``clear()`` sticks. Everything a session shares with the other
sessions of its request (headers, cookies, the app's policy) it reaches through its
:class:`RequestScope`, the request context.
"""

from __future__ import annotations

import asyncio
import copy
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

from litestar_jwtsession.errors import ErrorCode, SessionError, StoreUnavailableError
from litestar_jwtsession.session.claims import RESERVED_CLAIMS, SessionSnapshot, floor_ms, snapshot_of
from litestar_jwtsession.session.csrf import csrf_token
from litestar_jwtsession.session.events import SessionEvent
from litestar_jwtsession.session.hooks import HookEvent
from litestar_jwtsession.session.lifetime import EXPIRY_CODES, slide_due
from litestar_jwtsession.session.verify import check_not_revoked, decode_now, decode_token, verifies_now
from litestar_jwtsession.session.writes import SessionBase, SessionUpdate

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from litestar_jwtsession.session.incoming import CachedRead
    from litestar_jwtsession.session.request import RequestScope

__all__ = ("REQUEST_REFUSALS", "Session", "SessionUpdate")

ClaimsT = TypeVar("ClaimsT")

# Refusals that no hook can undo: the cookie is expired in the response.
_REVOKED_CODES = frozenset({ErrorCode.SESSION_REVOKED, ErrorCode.REFRESH_TOKEN_REUSED})

REQUEST_REFUSALS = frozenset({ErrorCode.CSRF_TOKEN_INVALID, ErrorCode.JWE_DERIVATION_BUSY})
"""Refusals that blame the request, not the token: it reads as anonymous for this request only,
and nothing may expire or revoke it on that account (a forged request must not log anyone out,
nor a flood of forged tokens that keeps the PBES2 derivation pool busy)."""

# Sessions whose incoming token is being read in the current task: a hook running inside that
# read (e.g. an ``on_expire`` refresh calling ``update()``) must not wait for the read to finish.
_LOADING: ContextVar[frozenset[int]] = ContextVar("litestar_jwtsession_loading", default=frozenset())


class Session(SessionBase, Generic[ClaimsT]):
    """A session of one config in one request. Attributes are live.

    ``created_at``/``expires_at`` are milliseconds since the epoch, floored to whole seconds, as in
    unjwt. ``data`` is the payload without ``jti``, ``iat`` and ``exp``.
    """

    __slots__ = ()

    def __class_getitem__(cls, item: Any) -> type[Session[Any]]:
        # ``Session[Claims]`` is ``Session`` at run time: Litestar checks every injected value
        # against its parameter's annotation with isinstance(), which a subscripted generic makes
        # raise and retry (a microsecond per request); type checkers still see the parameter.
        return cls

    @classmethod
    def from_cached(cls, cached: CachedRead, request: RequestScope) -> Session[Any]:
        """The session whose read is ``cached`` (a guard's read from the token cache): already
        loaded, with the outcome :meth:`load` would have had."""
        session: Session[Any] = cls(cached.config, request)
        session._token_from_cookie = True
        session._incoming = cached.claims
        session._apply(cached.claims, cached.typed, cached.token)
        session._loaded = True
        return session

    # -- state -----------------------------------------------------------------------------

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
        ``max_age`` after it was issued, or its ``exp`` if that comes first (a token cut at the
        end of its login's absolute lifetime); ``None`` (a browser-session cookie) without
        ``max_age``."""
        max_age = self.config.max_age_seconds
        if max_age is None:
            return None
        expires = self.created_at // 1000 + max_age
        return expires if self.expires_at is None else min(expires, self.expires_at // 1000)

    @property
    def refusal(self) -> ErrorCode | None:
        """Why the incoming token of this request was refused (``None``: none was, or none came)."""
        return self._refusal

    @property
    def is_valid(self) -> bool:
        """Whether the session holds a verified or freshly issued token."""
        return self.id is not None and self.token is not None

    @property
    def is_loaded(self) -> bool:
        """Whether the incoming token was read (or the session written) in this request."""
        return self._loaded

    @property
    def renewed(self) -> bool:
        """Whether this request replaced the token it brought by a new one (``update()``, a slide,
        a rotation)."""
        incoming = self._incoming
        return incoming is not None and self.id is not None and self.id != incoming.get("jti")

    @property
    def read_in_progress(self) -> bool:
        """Whether this session's own read is running (its hooks are what is asking)."""
        return self._reading and not self._loaded

    @property
    def token_from_cookie(self) -> bool:
        """Whether the incoming token came in the session cookie (not in the session header)."""
        return self._token_from_cookie

    @property
    def csrf_token(self) -> str | None:
        """The CSRF token of this session (``None`` without an id); see ``SessionConfig.csrf``."""
        return None if self.id is None else csrf_token(self.config.csrf_key, self.id)

    def attach(self, request: RequestScope) -> bool:
        """Belong to ``request`` from now on (the request context, or what stands for it once the
        response is done). Returns whether this session was read (one never read holds nothing
        worth keeping)."""
        self._request = request
        return self._loaded

    # -- reading ---------------------------------------------------------------------------

    async def load(self) -> Session[ClaimsT]:
        """Read the incoming token once per request; concurrent callers share that one read."""
        if self._loaded:
            return self
        if self._reading:
            return await self._join_read()
        request = self._request
        if request is None:
            self._loaded = True  # created after the response: nothing left to read
            return self
        self._reading = True
        tracing = request.policy.tracing  # the one check an untraced read pays
        trace = None if tracing is None else tracing.start_read(self.config.name)
        try:
            token, from_cookie = request.find_token(self.config)
            if token is None:
                await self._fire_missing()
            else:
                await self._read(request, token, from_cookie)
        except BaseException as exc:
            # A hook refused the token: the session stays anonymous for the rest of the request.
            self._load_error = exc
            self._reset()
            if trace is not None:
                trace.fail(exc)
            raise
        finally:
            self._loaded = True
            if self._loading is not None:
                self._loading.set()
        if trace is not None:
            trace.end(self._read_outcome(), self._refusal)
        return self

    def _read_outcome(self) -> str:
        """How the read ended, for a trace: ``valid`` (the incoming token), ``reissued`` (none
        usable, but a hook or the refresh fallback issued one), ``refused`` or ``missing``."""
        if self._refusal is None and self._incoming is not None and self.is_valid:
            return "valid"
        if self.is_valid:
            return "reissued"
        return "missing" if self._refusal is None else "refused"

    async def _read(self, request: RequestScope, token: str, from_cookie: bool) -> None:
        self.token = token
        self._token_from_cookie = from_cookie
        try:
            claims, typed = await self._verify(request, token, from_cookie=from_cookie)
        except StoreUnavailableError:
            raise  # no verdict on the token: the request fails, the cookie stays
        except SessionError as error:
            self._refusal = error.code
            await self._refuse(token, error)
            return
        self._incoming = claims
        self._apply(claims, typed, token)
        hooks = self.config.hooks
        if hooks.has("on_read"):
            await self._while_reading(hooks.fire("on_read", self._event(session=self)))
        if self.config.slide_after is not None and from_cookie:
            await self._while_reading(self._slide(request, claims))

    async def _slide(self, request: RequestScope, claims: dict[str, Any]) -> None:
        """Sliding expiry: re-issue a session read past its slide point on this response, unless
        it would not gain from it or an ``on_slide`` hook vetoes. A failed re-issue (``on_error``
        fired) leaves the token read in place for this request."""
        config = self.config
        if not self._can_write() or not slide_due(config, claims, config.clock(), request.policy.lifetime):
            return
        event = self._event(session=self)
        if await config.hooks.first("on_slide", event) is False:
            return
        try:
            await request.policy.renew(event)
        except StoreUnavailableError:
            raise  # as for any rotation: fail closed, the cookie stays
        except SessionError:
            return

    async def _verify(
        self, request: RequestScope, token: str, *, from_cookie: bool, refusable: bool = True
    ) -> tuple[dict[str, Any], Any]:
        """Every check an incoming token passes: the token itself, CSRF (a cookie-borne token;
        before revocation, so a forged request changes no cookie), then revocation."""
        config, store, lifetime = self.config, request.policy.store, request.policy.lifetime
        try:
            if verifies_now(config, store):
                claims, typed = decode_now(config, token)
            else:
                claims, typed = await decode_token(
                    config, token, connection=request.connection, run=self._while_reading, refusable=refusable
                )
        except SessionError as expired:
            if lifetime is None or expired.code is not ErrorCode.JWT_EXPIRED:
                raise
            # a token whose exp was cut at the end of its login ran out with the login: say so
            over = lifetime.refusal(config, expired.claims, config.clock())
            if over is None:
                raise
            raise over from expired
        if lifetime is not None and (over := lifetime.refusal(config, claims, config.clock())) is not None:
            raise over  # a token issued before the policy, or under a longer one
        if from_cookie and config.name in request.policy.csrf_sessions:
            error = await request.csrf_refusal(config, claims)
            if error is not None:
                self._incoming = claims  # the token is genuine: a clear() still revokes it
                raise error
        if store is not None:
            await check_not_revoked(
                store, config, claims, connection=request.connection, run=self._while_reading
            )
        return claims, typed

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

    async def _while_reading(self, calls: Awaitable[Any]) -> Any:
        """Await hooks (or store calls) of our own read, marked so that the ``update()`` or
        ``clear()`` they call does not wait for that read to finish (it would wait for itself)."""
        marker = _LOADING.set(_LOADING.get() | {id(self)})
        try:
            return await calls
        finally:
            _LOADING.reset(marker)

    async def _refuse(self, token: str, error: SessionError) -> None:
        """Report a refused incoming token; an expired one may then be re-issued (``on_missing``)."""
        request = self._request
        csrf = request is not None and self.config.name in request.policy.csrf_sessions
        if self._token_from_cookie and csrf and error.code in EXPIRY_CODES:
            # an expired cookie on a forged request must not reach on_expire (which may re-issue)
            error = await cast("RequestScope", request).csrf_refusal(self.config, error.claims) or error
            self._refusal = error.code
        if request is not None:
            request.policy.telemetry.emit(
                SessionEvent.TOKEN_REFUSED, session=self.config.name, code=error.code
            )
        if not await self._reject(token, error):
            await self._fire_missing()

    async def _reject(self, token: str, error: SessionError) -> bool:
        """Fire ``on_error`` (returns True) or ``on_expire`` (returns False) for a refused token."""
        hooks = self.config.hooks
        if error.code in _REVOKED_CODES and self._token_from_cookie and self._can_write():
            self._cookie_action = "clear"  # a revoked cookie never becomes valid again: drop it
        if error.code not in EXPIRY_CODES:
            await self._while_reading(hooks.fire("on_error", self._event(session=self, error=error)))
            return True
        if self._token_from_cookie and self.config.cookie_spec is not None and self._can_write():
            # A browser would keep sending the lapsed cookie; expire it unless a hook re-issues.
            self._cookie_action = "clear"
        expired = snapshot_of(error.claims, token, with_data=False)
        await self._while_reading(hooks.fire("on_expire", self._event(session=expired, error=error)))
        return False

    async def _fire_missing(self) -> None:
        request = self._request
        if self.is_valid or request is None or not self._can_write():
            return
        hooks = self.config.hooks
        if hooks.has("on_missing"):
            await self._while_reading(hooks.fire("on_missing", self._event(session=self)))
        if request.policy.fallback == self.config.name and not self.is_valid:
            await self._while_reading(request.policy.refresh_fallback(self._event(session=self)))

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

    # -- output ----------------------------------------------------------------------------

    def set_cookie_headers(self, cookies: dict[str, str], *, csrf: bool) -> list[str]:
        """The Set-Cookie values of this session's cookie (and, with ``csrf``, its readable CSRF
        companion) for the response; ``cookies`` are the request's (to expire surplus chunks)."""
        spec = self.config.cookie_spec
        if spec is None or self._cookie_action is None:
            return []
        previous = spec.incoming_chunks(cookies)
        csrf_name = self.config.csrf_cookie_name if csrf else None
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
        request = self._request
        return HookEvent(
            connection=None if request is None else request.connection, config=self.config, **attributes
        )

    def __repr__(self) -> str:
        return f"Session(name={self.config.name!r}, id={self.id!r}, data={self.data!r})"
