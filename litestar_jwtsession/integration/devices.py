"""Device sessions: every refresh family of a subject, listed with its label and times.

With a store and refresh-token rotation, each refresh family (a login and every token rotated
from it) is one *device session*. Its id is the family's opaque handle (``fid``, never the ``fam``
claim, which is a refresh token's ``jti``). The store keeps one index per subject,
``<prefix>:devices:<refresh name>:<sub>``: ``{id: [created, last refreshed, label]}``, changed only
through the store's atomic update (a lock in one process, ``WATCH``/``MULTI`` on Redis and Valkey),
so concurrent logins and rotations on any instance never lose an entry.

- A refresh session written by ``update()`` without a previous session of the same subject starts
  a family and records it (its label from the app's hook, by default a coarse summary of the
  ``User-Agent``; nothing else of the request is kept). ``update()`` over a valid refresh session of
  the same subject continues its family. An access session written in the same request as a valid
  refresh session carries its family's handle, so ending the device ends that access session too.
- Each rotation records the family's last refresh (only the winner of a racing rotation writes);
  a family issued before device sessions were kept is listed from its next rotation on.
- Revoking the family (``clear()``, reuse detection, ``revoke_subject``, ending it from the list)
  removes it. Entries expire with the family (the index lives one refresh lifetime past its last
  write), and at most ``max_per_subject`` are kept: a login beyond that ends the family refreshed
  longest ago, so no live family is ever missing from the list.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from litestar_jwtsession.integration import families
from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.user_agent import describe_user_agent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from litestar.connection import ASGIConnection

    from litestar_jwtsession.integration.store_ops import StoreOps
    from litestar_jwtsession.session.claims import SessionSnapshot
    from litestar_jwtsession.session.config import SessionConfig

    LabelHook = Callable[[ASGIConnection[Any, Any, Any, Any]], str | Awaitable[str | None] | None]

__all__ = ("DeviceRegistry", "DeviceSession", "DeviceSessions", "RevokedDeviceSessions")

_LABEL_LIMIT = 120  # characters of a label kept in the store


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSessions:
    """How ``JWTSessionPlugin(devices=...)`` keeps device sessions.

    Args:
        label: ``(connection) -> str | None`` (sync or async), the label of a new device session,
            called at login. ``None`` (or a hook returning ``None`` or ``""``) uses the default:
            a coarse summary of the ``User-Agent`` such as ``"Firefox on Linux"``. The request's
            IP address is never stored unless this hook puts it in the label.
        max_per_subject: device sessions kept per subject; a login beyond it ends the one
            refreshed longest ago (its family is revoked).
    """

    label: LabelHook | None = None
    max_per_subject: int = 50

    def __post_init__(self) -> None:
        if self.label is not None and not callable(self.label):
            raise ImproperlyConfigured("DeviceSessions(label=...) must be callable or None")
        if type(self.max_per_subject) is not int or self.max_per_subject < 1:
            raise ImproperlyConfigured("DeviceSessions(max_per_subject=...) must be an integer >= 1")


class DeviceSession(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One device session of a subject, as the list shows it (JSON keys in camelCase)."""

    id: str
    """The family's opaque handle: what ending it takes (the ``fid`` of its access sessions)."""
    label: str
    """What the app's label hook (default: the ``User-Agent`` summary) said at login."""
    created_at: int
    """When the device logged in, in milliseconds since the epoch (whole seconds)."""
    last_refreshed_at: int
    """When its refresh session was last issued (login or rotation), in milliseconds."""
    current: bool = False
    """Whether it is the session of the request that asked."""


class RevokedDeviceSessions(msgspec.Struct, frozen=True, kw_only=True):
    """How many device sessions an "end every other session" request ended."""

    revoked: int


class _Entry(msgspec.Struct, array_like=True):
    """One family in a subject's index (compact: the whole index is one value)."""

    created: int  # seconds since the epoch
    refreshed: int
    label: str


_Index = dict[str, _Entry]


class _Resolver(Protocol):
    """What the registry needs of the revocation store (``LitestarSessionStore``)."""

    key_prefix: str

    def resolve(self, target: Any) -> StoreOps: ...


class DeviceRegistry:
    """The device sessions of one app's rotating refresh config (built by the plugin's runtime).

    The session writes and the revocation store call its hooks; the public functions of
    :mod:`litestar_jwtsession.integration.device_api` call the rest.
    """

    __slots__ = ("_label", "_lifetime", "_store", "access_name", "max_per_subject", "refresh", "required")

    def __init__(
        self,
        settings: DeviceSessions,
        *,
        refresh: SessionConfig[Any],
        access: SessionConfig[Any] | None,
        store: _Resolver,
        required: bool,
    ) -> None:
        self.refresh = refresh
        self.required = required
        """Whether the app asked for device sessions (``DeviceSessions``): then a store without
        an atomic update is an error; by default such a store just keeps none."""
        self.access_name = None if access is None else access.name
        self.max_per_subject = settings.max_per_subject
        self._label = settings.label
        self._lifetime = families.family_lifetime(refresh)
        self._store = store

    def _ops(self, target: Any) -> StoreOps | None:
        """The store's operations; ``None`` where it cannot keep device sessions (by default)."""
        ops = self._store.resolve(target)
        if ops.atomic_update:
            return ops
        if self.required:
            raise _cannot_keep(ops)
        return None

    def _updating_ops(self, target: Any) -> StoreOps:
        """The store's operations, for the public API: an error where it cannot keep them."""
        ops = self._store.resolve(target)
        if not ops.atomic_update:
            raise _cannot_keep(ops)
        return ops

    def check(self, target: Any) -> None:
        """Refuse, before any request, a store that cannot keep the device sessions asked for."""
        self._ops(target)

    def _index_key(self, sub: str) -> str:
        return families.store_key(self._store.key_prefix, "devices", self.refresh.name, sub)

    # -- update() of a session (through the runtime) ---------------------------------------------

    def issuing(
        self, connection: Any, config: SessionConfig[Any], data: dict[str, Any], before: SessionSnapshot
    ) -> None:
        """Set the bookkeeping claims of a token ``update()`` is about to issue: a refresh session
        continues the family of the session it replaces (same subject) or starts one; an access
        session written beside a valid refresh session carries that family's handle."""
        if config.name == self.refresh.name:
            previous = None if before.id is None else families.family_of(before.data, before.id)
            if previous is not None and before.data.get("sub") == data.get("sub"):
                data[families.FAMILY_CLAIM] = previous
            else:
                data.pop(families.FAMILY_CLAIM, None)
        elif config.name == self.access_name and connection is not None:
            data.pop(families.FAMILY_CLAIM, None)  # a refresh token's jti never reaches a readable token
            refresh = request_context(connection).sessions.get(self.refresh.name)
            if refresh is not None and refresh.is_valid and refresh.data.get("sub") == data.get("sub"):
                family = families.family_of(refresh.data, refresh.id)
                if family is not None:
                    data[families.FAMILY_HANDLE_CLAIM] = families.family_handle(family)

    async def issued(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any], before: SessionSnapshot
    ) -> None:
        """Record the device session of a refresh token ``update()`` sealed (before it becomes the
        session's: a store failure rolls the update back)."""
        sub = claims.get("sub")
        if config.name != self.refresh.name or not isinstance(sub, str) or not sub:
            return
        handle = families.family_handle(families.family_of(claims, claims["jti"]) or claims["jti"])
        store = self._ops(connection)
        if store is not None:
            await self._register(store, connection, sub, handle, claims["iat"])

    async def _register(self, store: StoreOps, connection: Any, sub: str, handle: str, iat: int) -> None:
        label = await self._label_of(connection)
        change = _register(handle, iat, label, self.refresh.clock(), self._lifetime, self.max_per_subject)
        for evicted in await store.update(self._index_key(sub), change):
            await families.revoke_family(store, self._store.key_prefix, self.refresh, evicted)

    async def _label_of(self, connection: Any) -> str:
        label = None
        if self._label is not None:
            label = self._label(connection)
            if inspect.isawaitable(label):
                label = await label
        if not isinstance(label, str) or not label:
            label = describe_user_agent(connection.headers.get("user-agent"))
        return label[:_LABEL_LIMIT]

    # -- the revocation store's hooks --------------------------------------------------------------

    async def rotated(self, store: StoreOps, connection: Any, claims: Mapping[str, Any], now: float) -> None:
        """The refresh token with ``claims`` was rotated at ``now``: its family was refreshed. A
        family not listed yet (issued before device sessions were kept) is listed from now on."""
        sub, jti = claims.get("sub"), str(claims.get("jti"))
        if not (isinstance(sub, str) and sub and store.atomic_update):
            return
        handle, iat = families.family_handle(families.family_of(claims, jti) or jti), math.floor(now)
        if await store.update(self._index_key(sub), _touch(handle, iat, now, self._lifetime)):
            return
        await self._register(store, connection, sub, handle, iat)

    async def forget(self, store: StoreOps, sub: Any, handle: str) -> None:
        """The family ``handle`` was revoked: its device session ends."""
        if isinstance(sub, str) and sub and store.atomic_update:
            await store.update(self._index_key(sub), _remove((handle,), self.refresh.clock(), self._lifetime))

    async def forget_subject(self, store: StoreOps, sub: str) -> None:
        """Every token of ``sub`` was revoked: so are all its device sessions."""
        if store.atomic_update:
            await store.update(self._index_key(sub), _drop)

    # -- the public API (device_api.py) ------------------------------------------------------------

    async def sessions(self, target: Any, sub: str, current: str | None = None) -> list[DeviceSession]:
        """The active device sessions of ``sub``, most recently refreshed first; ``current`` (an
        id) is flagged. Families revoked by any means but not yet out of the index are left out."""
        store = self._updating_ops(target)
        entries = await self._entries(store, sub)
        if not entries:
            return []
        prefix, name = self._store.key_prefix, self.refresh.name
        keys = [families.store_key(prefix, "family", name, handle) for handle in entries]
        keys.append(families.store_key(prefix, "subject", name, sub))
        *revoked, not_before = await store.get_many(keys)
        cutoff = -1 if not_before is None else int(not_before)
        listed = [
            DeviceSession(
                id=handle,
                label=entry.label,
                created_at=entry.created * 1000,
                last_refreshed_at=entry.refreshed * 1000,
                current=handle == current,
            )
            for (handle, entry), flag in zip(entries.items(), revoked, strict=True)
            if flag is None and entry.refreshed > cutoff
        ]
        listed.sort(key=lambda device: (device.last_refreshed_at, device.created_at), reverse=True)
        return listed

    async def revoke(self, target: Any, sub: str, device_id: str) -> bool:
        """End the device session ``device_id`` of ``sub`` (its family: refresh tokens and the
        access tokens carrying its handle); ``False`` if ``sub`` has no such active session."""
        store = self._updating_ops(target)
        if device_id not in await self._entries(store, sub):
            return False
        await self._end(store, sub, (device_id,))
        return True

    async def revoke_others(self, target: Any, sub: str, keep: str | None) -> int:
        """End every device session of ``sub`` but ``keep``; how many were ended."""
        store = self._updating_ops(target)
        victims = [handle for handle in await self._entries(store, sub) if handle != keep]
        await self._end(store, sub, victims)
        return len(victims)

    async def _end(self, store: StoreOps, sub: str, handles: Iterable[str]) -> None:
        handles = tuple(handles)
        for handle in handles:  # revoked first: an unlisted family must never stay alive
            await families.revoke_family(store, self._store.key_prefix, self.refresh, handle)
        if handles:
            await store.update(self._index_key(sub), _remove(handles, self.refresh.clock(), self._lifetime))

    async def _entries(self, store: StoreOps, sub: str) -> _Index:
        if not isinstance(sub, str) or not sub:
            raise ValueError("sub must be a non-empty string")
        return _alive(_decode(await store.get(self._index_key(sub))), self.refresh.clock(), self._lifetime)


def _cannot_keep(ops: StoreOps) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        "device sessions need a store with an atomic update (MemoryStore, RedisStore, ValkeyStore, "
        f"or a StoreOps with _update registered for it), not {type(ops.store).__name__}"
    )


# -- changes of a subject's index (pure: a Redis transaction may run them more than once) --------

Change = tuple[bytes | None, int | None, Any]


def _decode(raw: bytes | None) -> _Index:
    if raw is None:
        return {}
    try:
        return msgspec.json.decode(raw, type=_Index)
    except msgspec.DecodeError:
        return {}  # not ours (or from an incompatible version): rebuilt by the next write


def _alive(entries: _Index, now: float, lifetime: int | None) -> _Index:
    if lifetime is None:
        return entries
    return {handle: entry for handle, entry in entries.items() if entry.refreshed + lifetime > now}


def _stored(entries: _Index, now: float, lifetime: int | None) -> tuple[bytes | None, int | None]:
    """The index as stored, and its expiry: one lifetime after its latest refresh."""
    if not entries:
        return None, None
    ttl = None
    if lifetime is not None:
        ttl = max(1, math.ceil(max(entry.refreshed for entry in entries.values()) + lifetime - now))
    return msgspec.json.encode(entries), ttl


def _register(
    handle: str, iat: int, label: str, now: float, lifetime: int | None, cap: int
) -> Callable[[bytes | None], Change]:
    def change(raw: bytes | None) -> Change:
        entries = _alive(_decode(raw), now, lifetime)
        known = entries.get(handle)  # a continued family keeps its login time and label
        if known is None:
            entries[handle] = _Entry(created=iat, refreshed=iat, label=label)
        else:
            entries[handle] = _Entry(known.created, max(known.refreshed, iat), known.label)
        evicted: list[str] = []
        while len(entries) > cap:
            oldest = min(
                (other for other in entries if other != handle),
                key=lambda other: (entries[other].refreshed, entries[other].created),
            )
            del entries[oldest]
            evicted.append(oldest)
        return (*_stored(entries, now, lifetime), evicted)

    return change


def _touch(handle: str, iat: int, now: float, lifetime: int | None) -> Callable[[bytes | None], Change]:
    def change(raw: bytes | None) -> Change:
        entries = _alive(_decode(raw), now, lifetime)
        known = entries.get(handle)
        if known is None:
            return raw, None, False  # not listed: the caller registers it
        entries[handle] = _Entry(known.created, max(known.refreshed, iat), known.label)
        return (*_stored(entries, now, lifetime), True)

    return change


def _remove(handles: tuple[str, ...], now: float, lifetime: int | None) -> Callable[[bytes | None], Change]:
    def change(raw: bytes | None) -> Change:
        entries = _decode(raw)
        if not any(handle in entries for handle in handles):
            return raw, None, None
        for handle in handles:
            entries.pop(handle, None)
        return (*_stored(_alive(entries, now, lifetime), now, lifetime), None)

    return change


def _drop(raw: bytes | None) -> Change:
    return None, None, None
