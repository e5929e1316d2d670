"""The lifecycle hook registry of one session config.

Hooks are plain callables (sync or async) taking one :class:`HookEvent`. Several may be registered
per event; they run in registration order. ``on_read``, ``on_expire`` and ``on_error`` are
mutually exclusive for one incoming token and fire at most once per request for it (the session
state guarantees that; the registry only dispatches).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from litestar_jwtsession.errors import SessionError
    from litestar_jwtsession.session.claims import SessionSnapshot

__all__ = ("HookEvent", "HookName", "SessionHooks")

HookName: TypeAlias = Literal[
    "on_read",
    "on_update",
    "on_clear",
    "on_expire",
    "on_error",
    "on_key_lookup",
    "on_refresh",
    "on_missing",
    "on_reuse",
    "on_slide",
]
HookFn: TypeAlias = Callable[["HookEvent"], Any]
F = TypeVar("F", bound=HookFn)


@dataclass(frozen=True, slots=True)
class HookEvent:
    """The single argument every hook receives; attributes mirror unjwt's hook arguments.

    Attributes that do not apply to an event are ``None``.
    """

    connection: Any
    """The Litestar connection (``Request`` or ``WebSocket``) of the current request."""
    config: Any
    """The session config the event belongs to."""
    session: Any = None
    """The live :class:`~litestar_jwtsession.Session`, or for ``on_expire`` a snapshot of the
    expired token (``id``, ``created_at``, ``expires_at``, ``token``)."""
    old_session: SessionSnapshot | None = None
    """``on_update``/``on_clear``: a deep snapshot taken before the change (``None`` if there was
    no session)."""
    error: SessionError | None = None
    """``on_error``/``on_expire``: the error, with a stable ``.code``."""
    header: Mapping[str, Any] | None = None
    """``on_key_lookup``: the token's (unverified) protected header."""


async def _call(fn: HookFn, event: HookEvent) -> Any:
    result = fn(event)
    if inspect.isawaitable(result):
        result = await result
    return result


class SessionHooks:
    """Registry of lifecycle hooks; register with the decorator methods.

    .. code-block:: python

        hooks = SessionHooks()

        @hooks.on_expire
        async def reissue(event: HookEvent) -> None: ...
    """

    __slots__ = ("_hooks", "hooks_reads")

    def __init__(self) -> None:
        self._hooks: dict[HookName, list[HookFn]] = {}
        self.hooks_reads = False
        """Whether a valid token's read runs a hook (``on_read`` or ``on_key_lookup``); kept as an
        attribute because the guards' cached read checks it on every request. Set by the
        registering methods, so register hooks through them."""

    def _register(self, name: HookName, fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"{name} hook must be callable, got {fn!r}")
        self._hooks.setdefault(name, []).append(fn)
        if name in ("on_read", "on_key_lookup"):
            self.hooks_reads = True
        return fn

    def on_read(self, fn: F) -> F:
        """After an incoming token was verified (once per request)."""
        return self._register("on_read", fn)

    def on_update(self, fn: F) -> F:
        """After every successful ``update()`` (``session`` after, ``old_session`` before)."""
        return self._register("on_update", fn)

    def on_clear(self, fn: F) -> F:
        """After ``clear()``, even with cookies disabled."""
        return self._register("on_clear", fn)

    def on_expire(self, fn: F) -> F:
        """When the incoming token has expired (``error.code``: ``ERR_JWT_EXPIRED``) or its login
        has (``ERR_SESSION_LIFETIME_EXCEEDED``, ``ERR_SESSION_IDLE_TIMEOUT``: see
        ``JWTSessionPlugin(absolute_lifetime=..., idle_timeout=...)``); may re-issue the session
        (refresh pattern), which a hook should not do for a login that ran out."""
        return self._register("on_expire", fn)

    def on_error(self, fn: F) -> F:
        """When an incoming token is invalid, or sealing/signing failed on update."""
        return self._register("on_error", fn)

    def on_key_lookup(self, fn: F) -> F:
        """Return the key that verifies/decrypts a token, chosen from ``event.header`` (e.g. by kid).

        The first hook returning something other than ``None`` decides. Writing always uses the
        config's own key.
        """
        return self._register("on_key_lookup", fn)

    def on_refresh(self, fn: F) -> F:
        """Before the plugin re-issues the access session from the refresh session.

        Return a mapping to use as the new data, ``False`` to veto, ``None`` for the default (a copy
        of the refresh session's data). The first hook returning something other than ``None``
        decides.
        """
        return self._register("on_refresh", fn)

    def on_missing(self, fn: F) -> F:
        """When the session is anonymous after reading because no token arrived or it expired.

        Runs once per request, after ``on_expire``; a hook may re-issue the session with
        ``update()``. ``JWTSessionPlugin``'s refresh fallback runs after these hooks (it is the
        plugin's, per app: nothing is registered on the config).
        """
        return self._register("on_missing", fn)

    def on_reuse(self, fn: F) -> F:
        """On the refresh config, when refresh-token rotation detects a reused token (RFC 9700 §4.14).

        An already-rotated refresh token came back after the grace window (or from another client):
        the store has revoked its whole family, so the thief and the user are both logged out.
        ``event.session`` is a snapshot of the reused token (``id``, times, ``data``), ``event.error``
        a :class:`SessionError` with code ``ERR_REFRESH_TOKEN_REUSED``. ``on_error`` fires too.
        """
        return self._register("on_reuse", fn)

    def on_slide(self, fn: F) -> F:
        """Before a session read past its ``slide_after`` point is re-issued with a fresh ``exp``
        (sliding expiry). ``event.session`` is the live session, still holding the token read;
        return ``False`` to keep that token (the first hook returning something other
        than ``None`` decides). A veto holds for this request only: the next read asks again.
        """
        return self._register("on_slide", fn)

    def has(self, name: HookName) -> bool:
        return bool(self._hooks.get(name))

    def contains(self, name: HookName, fn: HookFn) -> bool:
        return fn in self._hooks.get(name, ())

    async def fire(self, name: HookName, event: HookEvent) -> None:
        """Call every hook registered for ``name`` in order; exceptions propagate."""
        for fn in self._hooks.get(name, ()):
            await _call(fn, event)

    async def first(self, name: HookName, event: HookEvent) -> Any:
        """Call hooks for ``name`` in order and return the first result that is not ``None``."""
        for fn in self._hooks.get(name, ()):
            result = await _call(fn, event)
            if result is not None:
                return result
        return None

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(fns)}" for name, fns in self._hooks.items())
        return f"SessionHooks({counts})"
