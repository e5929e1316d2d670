"""Revocation and refresh-token rotation over Litestar's ``Store`` abstraction.

Sessions stay stateless tokens; only revocation and rotation need shared state, kept in a
Litestar ``Store`` (``MemoryStore`` for one process, ``RedisStore``/``ValkeyStore`` shared by every
instance), given to ``JWTSessionPlugin(store=...)`` as a store or the name of one in
``app.stores``. The behaviour is described in ``docs/security.md``; in short:

- ``Session.clear()`` revokes the token's ``jti`` until its natural expiry;
  :func:`~litestar_jwtsession.revoke_subject` revokes every token of a ``sub`` issued up to now.
- Each refresh fallback rotates the refresh session within its family (``fam``; access sessions
  carry the family's one-way handle ``fid``). A rotated token presented again revokes the family
  (RFC 9700 §4.14), except within ``rotation_grace`` for the same client (its
  :class:`DeviceCookie`, racing tabs), which gets the same successor: the rotation is claimed
  atomically (set-if-absent) and its result kept until the rotated token would have expired.

Keys (prefix ``jwtsession`` by default): ``revoked:<name>:<jti>``, ``subject:<name>:<sub>``
(the "not before" second), ``family:``/``seen:<refresh name>:<fid>`` (revoked; last refresh,
``lifetime.py``), ``rotated:<refresh name>:<jti>`` and ``devices:<refresh name>:<sub>`` (``devices.py``).
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from litestar.stores.base import Store

from litestar_jwtsession.errors import ErrorCode, SessionError, StoreUnavailableError, safe_text
from litestar_jwtsession.integration.device_cookie import DeviceCookie, user_agent_client_key
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.families import (
    BOOKKEEPING_CLAIMS,
    FAMILY_CLAIM,
    FAMILY_HANDLE_CLAIM,
    family_handle,
    family_lifetime,
    family_of,
    revoke_family,
    store_key,
)
from litestar_jwtsession.integration.lifetime import FamilyRecords
from litestar_jwtsession.integration.store_ops import StoreOps, store_ops
from litestar_jwtsession.session.claims import mint_claims, snapshot_of
from litestar_jwtsession.session.events import SessionEvent, default_telemetry
from litestar_jwtsession.session.hooks import HookEvent
from litestar_jwtsession.session.lifetime import birth_of
from litestar_jwtsession.session.store import remaining_lifetime

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from litestar import Litestar
    from litestar.connection import ASGIConnection

    from litestar_jwtsession.integration.devices import DeviceRegistry
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.events import Telemetry
    from litestar_jwtsession.session.lifetime import LifetimePolicy
    from litestar_jwtsession.session.session import Session

    ClientKey = Callable[[ASGIConnection[Any, Any, Any, Any]], str]

__all__ = (
    "BOOKKEEPING_CLAIMS",
    "FAMILY_CLAIM",
    "FAMILY_HANDLE_CLAIM",
    "LitestarSessionStore",
    "family_handle",
    "app_of",
)


class _Rotation(msgspec.Struct, frozen=True):
    """What the store remembers about a rotated refresh token."""

    at: float  # when it was rotated (session clock)
    client: str  # the client key of the request that rotated it
    token: str  # the successor


class LitestarSessionStore:
    """The session layer's :class:`~litestar_jwtsession.session.store.SessionStore` over a
    Litestar ``Store``, plus refresh-token rotation. ``JWTSessionPlugin(store=...)`` builds it.

    Args:
        store: a ``Store``, or the name of one in ``app.stores`` (looked up from the app of the
            connection, so it may be registered at any time before the first request).
        rotation: the refresh config whose tokens rotate, or ``None`` for revocation only; needs
            an atomic set-if-absent (``MemoryStore``, ``RedisStore``, ``ValkeyStore``, or a store
            taught with :func:`~litestar_jwtsession.integration.store_ops.register_store_ops`).
        rotation_grace: seconds a rotated token replayed by the same client gets the same successor.
        rotation_client_key: ``(connection) -> str`` telling clients apart in the grace window.
        key_prefix: the first segment of every key.
        timeout: seconds any one store operation may take before the store counts as unavailable.
        revocation_on_outage: ``"refuse"`` (fail closed: ``StoreUnavailableError``, 503) or
            ``"allow"`` (the revocation check passes while the store is unavailable).
        telemetry: where rotations, detected reuse, revocations and outages are reported
            (default: the ``litestar_jwtsession`` logger; the plugin passes its own).
        lifetime: the app's lifetime policy; with rotation, its records of families (``lifetime.py``).
    """

    __slots__ = (
        "_ops",
        "_rotation_name",
        "client_key",
        "device_cookie",
        "devices",
        "key_prefix",
        "lifetime",
        "revocation_on_outage",
        "rotation",
        "rotation_grace",
        "store",
        "telemetry",
        "timeout",
    )

    def __init__(
        self,
        store: str | Store,
        *,
        rotation: SessionConfig[Any] | None = None,
        rotation_grace: float = 10.0,
        rotation_client_key: ClientKey | None = None,
        key_prefix: str = "jwtsession",
        timeout: float = 2.0,
        revocation_on_outage: Literal["refuse", "allow"] = "refuse",
        telemetry: Telemetry | None = None,
        lifetime: LifetimePolicy | None = None,
    ) -> None:
        if not isinstance(store, str | Store):
            raise ImproperlyConfigured(
                f"store must be a litestar Store or the name of one, got {type(store).__name__}"
            )
        if not (isinstance(rotation_grace, int | float) and 0 <= rotation_grace < math.inf):
            raise ImproperlyConfigured("rotation_grace must be a finite number of seconds >= 0")
        if not (isinstance(timeout, int | float) and 0 < timeout < math.inf):
            raise ImproperlyConfigured("store timeout must be a finite number of seconds > 0")
        if revocation_on_outage not in ("refuse", "allow"):
            raise ImproperlyConfigured('revocation_on_outage must be "refuse" or "allow"')
        self.timeout = float(timeout)
        self.revocation_on_outage = revocation_on_outage
        self.telemetry: Telemetry = telemetry or default_telemetry()
        # the operations of each store resolved so far (a name resolves to one store per app);
        # keyed by identity: Litestar's stores can be neither hashed by value nor weakly referenced
        self._ops: dict[int, StoreOps] = {}
        self.store = store
        self.rotation = rotation
        self._rotation_name = None if rotation is None else rotation.name
        self.rotation_grace = float(rotation_grace)
        self.device_cookie: DeviceCookie | None = None
        """The default client key's cookie (``None`` with ``rotation_client_key`` or no rotation)."""
        if rotation_client_key is None and rotation is not None and rotation.cookie_spec is not None:
            self.device_cookie = DeviceCookie(rotation)
            rotation_client_key = self.device_cookie.client_key
        self.client_key: ClientKey = rotation_client_key or user_agent_client_key
        self.key_prefix = key_prefix
        self.devices: DeviceRegistry | None = None
        """The device sessions of the rotating refresh config (set by the plugin's runtime)."""
        self.lifetime = FamilyRecords(lifetime, self._key, rotation) if rotation and lifetime else None
        if isinstance(store, Store):
            self._operations(store)

    # -- the store -------------------------------------------------------------------------

    def resolve(self, target: Any) -> StoreOps:
        """The operations of the ``Store`` to use for ``target`` (a connection or an app)."""
        store = self.store
        return self._operations(store if isinstance(store, Store) else app_of(target).stores.get(store))

    def _operations(self, store: Store) -> StoreOps:
        ops = self._ops.get(id(store))
        if ops is None or ops.store is not store:
            ops = store_ops(store, timeout=self.timeout, telemetry=self.telemetry)
            if self.rotation is not None and not ops.atomic:
                raise ImproperlyConfigured(
                    "refresh-token rotation needs an atomic set-if-absent, which this library "
                    f"implements for MemoryStore, RedisStore and ValkeyStore, not {type(store).__name__}; "
                    "use one of those, register one with register_store_ops(), or pass rotate_refresh=False"
                )
            self._ops[id(store)] = ops
        return ops

    def _key(self, kind: str, name: str, value: str) -> str:
        return store_key(self.key_prefix, kind, name, value)

    # -- SessionStore ----------------------------------------------------------------------

    async def is_revoked(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any]
    ) -> bool:
        """Whether the token is revoked: by ``jti``, by subject, or (refresh) by family.

        A rotated refresh token presented after the grace window, or by another client, is reuse:
        its family is revoked, ``on_reuse`` fires, and a ``SessionError`` with
        ``ERR_REFRESH_TOKEN_REUSED`` rejects it.
        """
        store = self.resolve(connection)
        jti = str(claims.get("jti"))
        keys = [self._key("revoked", config.name, jti)]
        sub = claims.get("sub")
        subject_at = family_at = rotated_at = -1
        if isinstance(sub, str):
            subject_at = len(keys)
            keys.append(self._key("subject", config.name, sub))
        rotating = config.name == self._rotation_name
        if rotating:
            handle: Any = family_handle(family_of(claims, jti) or jti)
        else:  # an access token re-issued from a family names it by its handle
            handle = claims.get(FAMILY_HANDLE_CLAIM)
        if isinstance(handle, str) and handle and self._rotation_name is not None:
            family_at = len(keys)
            keys.append(self._key("family", self._rotation_name, handle))
        if rotating:
            rotated_at = len(keys)
            keys.append(self._key("rotated", config.name, jti))
        records, lifetime_at = self.lifetime if rotating else None, len(keys)
        keys.extend(records.keys(handle) if records is not None else ())
        try:
            values = await store.get_many(keys)
        except StoreUnavailableError:
            if self.revocation_on_outage == "allow":
                return False  # the opt-in availability policy: verified, not checked for revocation
            raise
        if values[0] is not None or (family_at >= 0 and values[family_at] is not None):
            return True
        if subject_at >= 0 and values[subject_at] is not None:
            iat = claims.get("iat")
            if not isinstance(iat, int | float) or iat <= int(values[subject_at] or 0):
                return True
        if rotated_at >= 0 and values[rotated_at] is not None:
            rotation = msgspec.json.decode(values[rotated_at] or b"", type=_Rotation)
            if not self._may_replay(rotation, connection, config.clock()):
                error = await self._reused(connection, config, claims, store)
                raise error
        if records is not None and (over := records.refusal(claims, values[lifetime_at:], config.clock())):
            raise over  # the family sat idle too long
        return False

    async def revoke(self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any]) -> None:
        """Revoke one token until its natural expiry; a refresh token takes its family along."""
        store = self.resolve(connection)
        now = config.clock()
        jti = str(claims.get("jti"))
        ttl = remaining_lifetime(config, claims, now)
        await store.set(self._key("revoked", config.name, jti), b"1", expires_in=ttl)
        if config.name == self._rotation_name:
            await self._revoke_family(store, config, family_of(claims, jti) or jti, claims.get("sub"))

    async def revoke_subject(self, target: Any, config: SessionConfig[Any], sub: str) -> None:
        """Revoke every token of ``config`` with subject ``sub`` issued up to now (``iat <= now``).

        Tokens issued later in the same second are revoked too (``iat`` has whole seconds).
        """
        if not isinstance(sub, str) or not sub:
            raise ValueError("sub must be a non-empty string")
        store = self.resolve(target)
        now = math.floor(config.clock())
        await store.set(self._key("subject", config.name, sub), str(now), expires_in=family_lifetime(config))
        self.telemetry.emit(SessionEvent.SUBJECT_REVOCATION, session=config.name)
        if self.devices is not None and config.name == self._rotation_name:
            await self.devices.forget_subject(store, sub)

    async def _revoke_family(
        self, store: StoreOps, config: SessionConfig[Any], family: str, sub: Any
    ) -> None:
        handle = family_handle(family)
        await revoke_family(store, self.key_prefix, config, handle)
        if self.devices is not None:  # the family's device session ends with it
            await self.devices.forget(store, sub, handle)

    async def _reused(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any], store: StoreOps
    ) -> SessionError:
        """Reuse detected: revoke the family, fire ``on_reuse``; the error for ``on_error``."""
        jti = str(claims.get("jti"))
        family = family_of(claims, jti) or jti
        await self._revoke_family(store, config, family, claims.get("sub"))
        error = SessionError(
            ErrorCode.REFRESH_TOKEN_REUSED,
            f"session {config.name!r}: refresh token {safe_text(jti, quote=True)} was already "
            f"rotated; its family {safe_text(family, quote=True)} is revoked",
            claims=dict(claims),
        )
        self.telemetry.emit(SessionEvent.REUSE_DETECTED, session=config.name, code=error.code)
        snapshot = snapshot_of(claims)
        await config.hooks.fire(
            "on_reuse", HookEvent(connection=connection, config=config, session=snapshot, error=error)
        )
        return error

    def _may_replay(self, rotation: _Rotation, connection: Any, now: float) -> bool:
        return now - rotation.at <= self.rotation_grace and rotation.client == self._client(connection)

    def _client(self, connection: Any) -> str:
        return hashlib.sha256(self.client_key(connection).encode("utf-8", "surrogatepass")).hexdigest()[:32]

    # -- rotation --------------------------------------------------------------------------

    @staticmethod
    def access_claims(refresh: Session[Any]) -> dict[str, Any]:
        """What an access session re-issued from the (rotated) ``refresh`` session carries so a
        reuse of its family revokes it too: the family's handle, never the family id."""
        family = family_of(refresh.data, refresh.id)
        return {} if family is None else {FAMILY_HANDLE_CLAIM: family_handle(family)}

    async def rotate(self, connection: Any, session: Session[Any]) -> bool:
        """Rotate the valid refresh ``session`` of this request, or replay a concurrent rotation.

        The first request to claim the rotation (set-if-absent in the store) issues the successor;
        every other request presenting the same token within the grace window adopts that same
        successor. Returns ``False`` (and clears the refresh session) when the token may not be
        rotated: reuse by another client, a successor that was revoked meanwhile, or a failure to
        seal the successor (``on_error`` fires).
        """
        config = session.config
        store = self.resolve(connection)
        jti = session.id
        if jti is None:
            return False
        key = self._key("rotated", config.name, jti)
        claims = session.state_claims(jti)
        family, birth, records = family_of(claims, jti) or jti, birth_of(claims), self.lifetime
        for _ in range(3):  # a record that expires between our two reads only costs a retry
            now = config.clock()
            raw = await store.get(key)
            if raw is None:
                try:
                    minted = mint_claims(config, {**session.data, FAMILY_CLAIM: family}, now)
                    if records is not None:  # the family's birth, and no exp beyond its end
                        records.stamp(minted, birth)
                    successor = await _seal(config, minted)
                except SessionError as failure:
                    await config.hooks.fire(
                        "on_error",
                        HookEvent(connection=connection, config=config, session=session, error=failure),
                    )
                    return False
                record = msgspec.json.encode(
                    _Rotation(at=now, client=self._client(connection), token=successor)
                )
                lifetime = remaining_lifetime(config, claims, now)
                ttl = None if lifetime is None else max(lifetime, math.ceil(self.rotation_grace) + 1)
                if await store.set_if_absent(key, record, ttl):
                    if self.devices is not None:  # the winner of the race records the refresh
                        await self.devices.rotated(store, connection, claims, now)
                    if records is not None:
                        await records.touch(store, family_handle(family), now)
                    return await self._adopt(session, successor, "rotated")
                raw = await store.get(key)
                if raw is None:
                    continue
            rotation = msgspec.json.decode(raw, type=_Rotation)
            if not self._may_replay(rotation, connection, now):
                error = await self._reused(connection, config, claims, store)
                await config.hooks.fire(
                    "on_error", HookEvent(connection=connection, config=config, session=session, error=error)
                )
                await session.clear()
                return False
            return await self._adopt(session, rotation.token, "replayed")
        return False

    async def _adopt(self, session: Session[Any], token: str, outcome: str) -> bool:
        """Make ``token`` the refresh session's successor: ``rotated`` (ours) or ``replayed``."""
        try:
            await session.adopt(token)
        except StoreUnavailableError:
            raise  # the store, not the token, failed: keep the cookie, answer 503
        except SessionError:
            await session.clear()  # e.g. the successor was revoked by a logout in the meantime
            return False
        self.telemetry.emit(SessionEvent.ROTATION, session=session.config.name, outcome=outcome)
        return True


async def _seal(config: SessionConfig[Any], claims: dict[str, Any]) -> str:
    """A new token of ``config`` with freshly minted ``claims``, as ``Session.update`` issues it."""
    token = await config.encode_token_async(claims)
    if config.cookie_spec is not None:
        config.cookie_spec.check_fits(token)
    return token


def app_of(target: Any) -> Litestar:
    app = target if hasattr(target, "stores") and hasattr(target, "plugins") else getattr(target, "app", None)
    if app is None:
        raise ImproperlyConfigured(
            "a store given by name needs a Litestar app or connection to be looked up in app.stores"
        )
    return app  # type: ignore[no-any-return]
