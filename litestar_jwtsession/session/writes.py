"""The state of a session and its writes: ``update()``, ``clear()`` and ``adopt()``, with their
rollback, revocation and the read-only rules (a WebSocket, a response already started).

The base of :class:`~litestar_jwtsession.session.session.Session`, which adds the read of the
incoming token and the output; kept apart so that each fits one module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

import msgspec

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose.claims import is_numeric_date, validate_claims
from litestar_jwtsession.session.claims import (
    AUTH_TIME_CLAIM,
    RESERVED_CLAIMS,
    convert_claims,
    floor_ms,
    mint_claims,
)
from litestar_jwtsession.session.config import seal_failed
from litestar_jwtsession.session.events import SessionEvent, traced
from litestar_jwtsession.session.lifetime import LIFETIME_CLAIM

if TYPE_CHECKING:
    import asyncio

    from litestar_jwtsession.session.claims import SessionSnapshot
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.events import Tracing
    from litestar_jwtsession.session.hooks import HookEvent
    from litestar_jwtsession.session.lifetime import LifetimePolicy
    from litestar_jwtsession.session.request import RequestScope
    from litestar_jwtsession.session.store import SessionStore

__all__ = ("SessionBase", "SessionUpdate")

SessionUpdate = (
    Mapping[str, Any] | msgspec.Struct | Callable[[dict[str, Any]], Mapping[str, Any] | msgspec.Struct | None]
)
"""What ``update()`` accepts: a mapping, a struct, or a callable receiving the live data."""


class SessionBase:
    """The state of a session and its writes: ``update()``, ``clear()`` and ``adopt()``."""

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

    def __init__(self, config: SessionConfig[Any], request: RequestScope | None) -> None:
        self.config = config
        self._request = request
        """The request context; ``None`` once the response is done (then read-only)."""
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

    if TYPE_CHECKING:

        async def load(self) -> Self: ...
        def snapshot(self) -> SessionSnapshot: ...
        def state_claims(self, jti: str) -> dict[str, Any]: ...
        def _event(self, **attributes: Any) -> HookEvent: ...
        def _apply(self, claims: dict[str, Any], typed: Any, token: str) -> None: ...
        async def _verify(
            self, request: RequestScope, token: str, *, from_cookie: bool, refusable: bool = True
        ) -> tuple[dict[str, Any], Any]: ...

    async def update(
        self, update: SessionUpdate | None = None, *, replace: bool = False, login: bool = False
    ) -> Self:
        """Merge ``update`` into ``data`` (or replace it), mint a new ``jti``/``iat``, seal, set the cookie.

        ``login=True`` says that the user has just proved who they are (a password, a passkey, a
        second factor): it stamps ``auth_time`` (now, in seconds since the epoch), which
        ``requires_fresh_login`` reads. Any other update keeps the session's ``auth_time``, even
        with ``replace=True``, unless ``update`` carries one of its own.

        On failure ``data``, ``id``, ``token`` and the times are rolled back and the error re-raised.
        """
        return await self.update_with(self.config, update, replace=replace, login=login)

    async def update_with(
        self,
        config: SessionConfig[Any],
        update: SessionUpdate | None = None,
        *,
        replace: bool = False,
        login: bool = False,
    ) -> Self:
        """:meth:`update` with the settings of ``config``, a modified copy of this session's config
        (e.g. another clock or lifetime) sharing its name."""
        self._check_writable("update")
        await self.load()
        tracing = self._tracing()
        if tracing is None:
            return await self._update(config, update, replace, login)
        return await traced(
            tracing.start_write("update", self.config.name), self._update(config, update, replace, login)
        )

    async def _update(
        self, config: SessionConfig[Any], update: SessionUpdate | None, replace: bool, login: bool
    ) -> Self:
        before = self.snapshot()
        saved = (self.id, self.created_at, self.expires_at, self.token, self._claims)
        try:
            patch = _as_mapping(update(self.data) if callable(update) else update)
        except BaseException:
            self._restore(before, saved)  # an updater may have mutated data in place
            raise
        # re-issuing a session is no login: its auth_time survives a replace
        auth_time = self.data.get(AUTH_TIME_CLAIM)
        if replace:
            self.data.clear()
        self.data.update((key, value) for key, value in patch.items() if key not in RESERVED_CLAIMS)
        now = config.clock()
        if login:
            self.data[AUTH_TIME_CLAIM] = math.floor(now)
        elif auth_time is not None and AUTH_TIME_CLAIM not in patch:
            self.data[AUTH_TIME_CLAIM] = auth_time
        request = self._request
        if request is not None:  # the app's bookkeeping claims (e.g. the refresh family)
            request.policy.issuing(request.connection, config, self.data, before)
        lifetime = self._lifetime(config)
        claims = mint_claims(config, self.data, now)
        if lifetime is not None:  # the token carries its login's start and ends with it
            lifetime.stamp(config, claims, _birth(before, patch, login, now))
            self.data[LIFETIME_CLAIM] = claims[LIFETIME_CLAIM]
        try:
            if lifetime is not None and (over := lifetime.refusal(config, claims, now)) is not None:
                raise over  # a login past its absolute lifetime gets no new token
            # never write a token this config's own reader would refuse (issuer, audience,
            # subject, required claims, typed claims)
            validate_claims(claims, config.codec.rules, config.clock())
            typed = convert_claims(self.config, claims)
            token = await config.encode_token_async(claims)
            if config.cookie_spec is not None:
                config.cookie_spec.check_fits(token)
        except Exception as exc:
            self._restore(before, saved)
            error = exc if isinstance(exc, SessionError) else seal_failed(config, safe_text(exc))
            await config.hooks.fire("on_error", self._event(session=self, error=error))
            if error is exc:
                raise
            raise error from exc
        if request is not None:
            try:
                await request.policy.issued(request.connection, config, claims, before)
            except BaseException:
                self._restore(before, saved)
                raise
        self.id = claims["jti"]
        self.created_at = claims["iat"] * 1000
        self.expires_at = claims["exp"] * 1000 if "exp" in claims else None
        self.token = token
        self._claims = typed
        if config.cookie_spec is not None:
            self._cookie_action = "set"
        await config.hooks.fire("on_update", self._event(session=self, old_session=before))
        return self

    def _lifetime(self, config: SessionConfig[Any]) -> LifetimePolicy | None:
        """The app's lifetime policy if it bounds ``config``'s tokens (an absolute lifetime)."""
        request = self._request
        lifetime = None if request is None else request.policy.lifetime
        return lifetime if lifetime is not None and lifetime.absolute_for(config) is not None else None

    async def clear(self) -> Self:
        """Drop the session and expire its cookie (every chunk); it stays cleared for this request.

        With a session store configured (``JWTSessionPlugin(store=...)``) the token is also revoked
        until its natural expiry: the incoming one and, if this request re-issued it, the current
        one. A revoked token then reads as anonymous everywhere (``on_error``, ``ERR_SESSION_REVOKED``).
        """
        self._check_writable("clear")
        await self.load()
        tracing = self._tracing()
        if tracing is None:
            return await self._clear()
        return await traced(tracing.start_write("clear", self.config.name), self._clear())

    async def _clear(self) -> Self:
        before = self.snapshot() if self.id is not None or self.token is not None else None
        request = self._request
        store = None if request is None else request.policy.store
        if store is not None and request is not None:
            await self._revoke(store, request)
        self._reset()
        if self.config.cookie_spec is not None:
            self._cookie_action = "clear"
        await self.config.hooks.fire("on_clear", self._event(old_session=before))
        return self

    async def _revoke(self, store: SessionStore, request: RequestScope) -> None:
        revoked: list[dict[str, Any]] = []
        if self.id is not None:
            revoked.append(self.state_claims(self.id))
        incoming = self._incoming
        if incoming is not None and incoming.get("jti") != self.id:
            revoked.append(incoming)
        for claims in revoked:
            await store.revoke(request.connection, self.config, claims)
        self._incoming = None
        if revoked:
            request.policy.telemetry.emit(
                SessionEvent.REVOCATION, session=self.config.name, count=len(revoked)
            )

    def _tracing(self) -> Tracing | None:
        request = self._request
        return None if request is None else request.policy.tracing

    async def adopt(self, token: str) -> Self:
        """Make ``token``, a token of this config issued elsewhere, the current one and set its cookie.

        The refresh-token rotation uses it to replay the successor that a concurrent request
        already issued. The token is verified and checked against the session store like an
        incoming one; if it fails, a :class:`SessionError` is raised and nothing changes.
        Fires ``on_update``.
        """
        self._check_writable("adopt")
        await self.load()
        request = self._request
        if request is None:  # (_check_writable lets only cookie-less sessions through here)
            raise SessionError(ErrorCode.SESSION_READ_ONLY, "Cannot adopt a token after the response")
        before = self.snapshot()
        # from the store, not a cookie: our own successor, worth waiting for a busy derivation pool
        claims, typed = await self._verify(request, token, from_cookie=False, refusable=False)
        self._apply(claims, typed, token)
        if self.config.cookie_spec is not None:
            self._cookie_action = "set"
        await self.config.hooks.fire("on_update", self._event(session=self, old_session=before))
        return self

    def _can_write(self) -> bool:
        request = self._request
        if self.config.cookie_spec is None:
            return True  # without cookies a new token only lives in ``session.token``
        return request is not None and request.writable and not request.response_started

    def _check_writable(self, action: str) -> None:
        if self._can_write():
            return
        request = self._request
        if request is not None and not request.writable:
            raise SessionError(
                ErrorCode.SESSION_READ_ONLY,
                f"Cannot {action} session {self.config.name!r} on a read-only connection "
                "(a WebSocket cannot set cookies); use cookie=False for header-borne sessions",
            )
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


def _birth(before: SessionSnapshot, patch: Mapping[str, Any], login: bool, now: float) -> float:
    """When the login of the token being written began: now for a login (``login=True``, or a
    session that had no token); else the start the update carries, or the session's own (its
    ``fat``, or the issue time of a token from before the lifetime policy)."""
    if login:
        return now
    for fat in (patch.get(LIFETIME_CLAIM), before.data.get(LIFETIME_CLAIM) if before.id else None):
        if is_numeric_date(fat):
            return fat
    return before.created_at / 1000 if before.id is not None and before.created_at is not None else now


def _as_mapping(update: Mapping[str, Any] | msgspec.Struct | None) -> Mapping[str, Any]:
    if update is None:
        return {}
    if isinstance(update, msgspec.Struct):
        return msgspec.to_builtins(update)  # type: ignore[no-any-return]
    if isinstance(update, Mapping):
        return update
    raise TypeError(
        f"session update must be a mapping, a msgspec.Struct or None, got {type(update).__name__}"
    )
