"""The frozen runtime one ``JWTSessionPlugin`` builds for its app from the session configs.

Configs are declarative and may be shared by several apps; everything an app decides about them
lives here and nowhere else: which cookies need a CSRF token, which session the refresh fallback
re-issues, the store, the rotation, the lifetime of a login, the user lookup. Requests read it
(as the session layer's :class:`~litestar_jwtsession.session.policy.SessionPolicy`); nothing
changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from litestar_jwtsession.integration.devices import DeviceRegistry, DeviceSessions
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.families import FAMILY_HANDLE_CLAIM
from litestar_jwtsession.integration.refresh import reissue_from_refresh
from litestar_jwtsession.integration.stores import LitestarSessionStore
from litestar_jwtsession.jose.durations import Duration, parse_duration
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
from litestar_jwtsession.session.events import Telemetry, default_telemetry
from litestar_jwtsession.session.lifetime import LifetimePolicy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from litestar.connection import ASGIConnection
    from litestar.stores.base import Store

    from litestar_jwtsession.session.claims import SessionSnapshot
    from litestar_jwtsession.session.events import Tracing
    from litestar_jwtsession.session.hooks import HookEvent

    RetrieveUserHandler = Callable[[Any, ASGIConnection[Any, Any, Any, Any]], Awaitable[Any] | Any]

__all__ = ("SessionRuntime", "build_runtime")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRuntime:
    """What one app decided about its sessions (see the module docstring)."""

    configs: tuple[SessionConfig[Any], ...]
    by_name: Mapping[str, SessionConfig[Any]]
    access: JWSSessionConfig[Any] | None
    refresh: JWESessionConfig[Any] | None
    csrf_sessions: frozenset[str]
    """Names of the sessions whose cookies need a CSRF token in this app."""
    fallback: str | None
    """The session re-issued from the refresh session when it is missing (the access one)."""
    store: LitestarSessionStore | None
    """Revocation (and rotation) backend; ``None`` without ``store=``."""
    rotation: LitestarSessionStore | None
    """Rotates the refresh session in the refresh fallback; ``None`` when rotation is off."""
    devices: DeviceRegistry | None
    """The device sessions (one per refresh family); ``None`` without rotation or when turned off."""
    retrieve_user_handler: RetrieveUserHandler | None
    exclude_opt_key: str
    store_retry_after: int
    telemetry: Telemetry
    """Where the sessions report events (``JWTSessionPlugin(telemetry=...)``; logging by default)."""
    tracing: Tracing | None
    """``telemetry.tracing``: spans around full reads and writes; ``None`` when nothing traces."""
    lifetime: LifetimePolicy | None = None
    """How long a login lives (absolute lifetime, idle timeout); ``None`` when neither is set."""

    async def refresh_fallback(self, event: HookEvent) -> None:
        """Re-issue the missing access session of ``event`` from the refresh session."""
        if self.refresh is not None:
            await reissue_from_refresh(event, self.refresh, self.rotation, self.telemetry, self.lifetime)

    async def renew(self, event: HookEvent) -> None:
        """Re-issue the valid session of ``event`` with a fresh ``exp`` (a slide). A rotating
        refresh session rotates (its slide is a rotation, with the rotation's reuse detection);
        any other session is updated with its data, and an access session issued from a refresh
        family counts as activity of that family for the idle timeout."""
        session = event.session
        rotation = self.rotation
        rotating = None if rotation is None else rotation.rotation
        if rotation is not None and rotating is not None and session.config.name == rotating.name:
            await rotation.rotate(event.connection, session)
            return
        await session.update()
        handle = session.data.get(FAMILY_HANDLE_CLAIM)
        if rotation is not None and rotation.lifetime is not None and isinstance(handle, str) and handle:
            await rotation.lifetime.touch(rotation.resolve(event.connection), handle, session.config.clock())

    def issuing(
        self, connection: Any, config: SessionConfig[Any], data: dict[str, Any], before: SessionSnapshot
    ) -> None:
        """Bookkeeping claims of a token ``update()`` is about to issue (see ``DeviceRegistry``)."""
        if self.devices is not None:
            self.devices.issuing(connection, config, data, before)

    async def issued(
        self, connection: Any, config: SessionConfig[Any], claims: Mapping[str, Any], before: SessionSnapshot
    ) -> None:
        """A token ``update()`` sealed, before it becomes the session's: record its device session."""
        if self.devices is not None:
            await self.devices.issued(connection, config, claims, before)

    def config_for(self, session: str | SessionConfig[Any] | None) -> SessionConfig[Any]:
        """The config ``session`` names: a config, a registered name, or ``None`` for the access one."""
        if isinstance(session, SessionConfig):
            return session
        if session is None:
            if self.access is None:
                raise ImproperlyConfigured("session guards need JWTSessionPlugin(access=...) or session=")
            return self.access
        try:
            return self.by_name[session]
        except KeyError:
            raise ImproperlyConfigured(f"no session named {session!r} is registered") from None


def build_runtime(
    *,
    access: JWSSessionConfig[Any] | None,
    refresh: JWESessionConfig[Any] | None,
    sessions: tuple[SessionConfig[Any], ...],
    refresh_fallback: bool,
    retrieve_user_handler: RetrieveUserHandler | None,
    exclude_opt_key: str,
    csrf: bool | None,
    store: str | Store | None,
    rotate_refresh: bool | None,
    rotation_grace: float,
    rotation_client_key: Callable[[ASGIConnection[Any, Any, Any, Any]], str] | None,
    store_timeout: float,
    revocation_on_outage: Literal["refuse", "allow"],
    store_retry_after: int,
    telemetry: Telemetry | None = None,
    devices: DeviceSessions | bool = True,
    idle_timeout: Duration | None = None,
    absolute_lifetime: Duration | None = None,
) -> SessionRuntime:
    """Check the plugin's arguments together and build its runtime (see ``JWTSessionPlugin``)."""
    if access is not None and not isinstance(access, JWSSessionConfig):
        raise ImproperlyConfigured("access must be a JWSSessionConfig")
    if refresh is not None and not isinstance(refresh, JWESessionConfig):
        raise ImproperlyConfigured("refresh must be a JWESessionConfig")
    configs = tuple(config for config in (access, refresh, *sessions) if config is not None)
    if not configs:
        raise ImproperlyConfigured("JWTSessionPlugin needs at least one session config")
    _check_unique("name", [config.name for config in configs])
    _check_unique("dependency key", [config.injection_key for config in configs])
    pair = access is not None and refresh is not None
    csrf_sessions = _csrf_sessions(configs, csrf, access, refresh if refresh_fallback else None)
    if refresh_fallback and pair and access is not None and access.key_source is not None:
        raise ImproperlyConfigured(
            "the refresh fallback re-issues the access session, which a config verifying with a key "
            "source cannot sign: pass refresh_fallback=False"
        )
    rotates = refresh_fallback and pair and store is not None
    if rotate_refresh and not rotates:
        raise ImproperlyConfigured("rotate_refresh needs store=, access=, refresh= and the refresh fallback")
    if type(store_retry_after) is not int or store_retry_after < 0:
        raise ImproperlyConfigured("store_retry_after must be a whole number of seconds >= 0")
    rotation = refresh if rotates and rotate_refresh is not False else None
    lifetime = _lifetime_policy(idle_timeout, absolute_lifetime, access, refresh, rotation)
    if telemetry is None:
        telemetry = default_telemetry()
    elif not isinstance(telemetry, Telemetry):
        raise ImproperlyConfigured(
            "telemetry must have emit() and tracing (e.g. litestar_jwtsession.otel.OpenTelemetry()), "
            f"got {type(telemetry).__name__}"
        )
    session_store = None
    if store is not None:
        session_store = LitestarSessionStore(
            store,
            rotation=rotation,
            rotation_grace=rotation_grace,
            rotation_client_key=rotation_client_key,
            timeout=store_timeout,
            revocation_on_outage=revocation_on_outage,
            telemetry=telemetry,
            lifetime=lifetime,
        )
        _check_device_cookie(session_store, configs, csrf_sessions)
    registry = _device_registry(devices, session_store, rotation, access)
    return SessionRuntime(
        configs=configs,
        by_name={config.name: config for config in configs},
        access=access,
        refresh=refresh,
        csrf_sessions=csrf_sessions,
        fallback=access.name if refresh_fallback and pair and access is not None else None,
        store=session_store,
        rotation=None if rotation is None else session_store,
        devices=registry,
        retrieve_user_handler=retrieve_user_handler,
        exclude_opt_key=exclude_opt_key,
        store_retry_after=store_retry_after,
        telemetry=telemetry,
        tracing=telemetry.tracing,
        lifetime=lifetime,
    )


def _lifetime_policy(
    idle_timeout: Duration | None,
    absolute_lifetime: Duration | None,
    access: SessionConfig[Any] | None,
    refresh: SessionConfig[Any] | None,
    rotation: SessionConfig[Any] | None,
) -> LifetimePolicy | None:
    """The lifetime of this app's logins, or ``None`` when neither option is set."""
    if idle_timeout is None and absolute_lifetime is None:
        return None
    idle, absolute = _seconds("idle_timeout", idle_timeout), _seconds("absolute_lifetime", absolute_lifetime)
    if access is None and refresh is None:
        raise ImproperlyConfigured("idle_timeout and absolute_lifetime bound the access and refresh sessions")
    if idle is not None and rotation is None:
        raise ImproperlyConfigured(
            "idle_timeout needs refresh-token rotation (store=, access=, refresh=, the refresh fallback); "
            "without a store the refresh session's max_age is its idle timeout"
        )
    names = frozenset(config.name for config in (access, refresh) if config is not None)
    return LifetimePolicy(absolute_lifetime=absolute, idle_timeout=idle, sessions=names)


def _seconds(option: str, value: Duration | None) -> int | None:
    try:
        return None if value is None else parse_duration(value)
    except TypeError as exc:
        raise ImproperlyConfigured(f"{option}: {exc}") from exc


def _csrf_sessions(
    configs: tuple[SessionConfig[Any], ...],
    csrf: bool | None,
    access: SessionConfig[Any] | None,
    refresh: SessionConfig[Any] | None,
) -> frozenset[str]:
    """The names of the cookie sessions that need a CSRF token; checks each has a secret."""
    chosen = {
        config.name
        for config in configs
        if config.cookie_spec is not None and (config.csrf if csrf is None else csrf)
    }
    # what the access config asked for counts, even when it has no cookie of its own to protect:
    # the refresh cookie behind it would otherwise feed the fallback to a forged request
    asked = access is not None and (access.csrf or (csrf is None and access.csrf_requested))
    if asked and refresh is not None and refresh.cookie_spec is not None and csrf is not False:
        chosen.add(refresh.name)
    for config in configs:
        config.check_csrf_secret(enabled=config.name in chosen)
    names = [config.name for config in configs]
    names += [config.csrf_cookie_name for config in configs if config.name in chosen]
    _check_unique("cookie name", names)
    return frozenset(chosen)


def _check_device_cookie(
    store: LitestarSessionStore, configs: tuple[SessionConfig[Any], ...], csrf_sessions: frozenset[str]
) -> None:
    device = store.device_cookie
    if device is None:
        return
    taken = {config.name for config in configs}
    taken.update(config.csrf_cookie_name for config in configs if config.name in csrf_sessions)
    if device.name in taken:
        raise ImproperlyConfigured(
            f"session cookie names must be unique; repeated: {device.name} (the device cookie of "
            f"{device.session_name!r}: rename that session or pass rotation_client_key)"
        )


def _device_registry(
    devices: DeviceSessions | bool,
    store: LitestarSessionStore | None,
    rotation: SessionConfig[Any] | None,
    access: SessionConfig[Any] | None,
) -> DeviceRegistry | None:
    """The device sessions, on by default wherever refresh families exist (a store and rotation)."""
    if not isinstance(devices, bool | DeviceSessions):
        raise ImproperlyConfigured("devices must be True, False or a DeviceSessions")
    if store is None or rotation is None:
        if isinstance(devices, DeviceSessions):
            raise ImproperlyConfigured(
                "device sessions need store=, access=, refresh= and refresh-token rotation"
            )
        return None
    if devices is False:
        return None
    settings = devices if isinstance(devices, DeviceSessions) else DeviceSessions()
    registry = store.devices = DeviceRegistry(
        settings, refresh=rotation, access=access, store=store, required=devices is not True
    )
    if not isinstance(store.store, str):
        registry.check(None)  # a store given as such is checked now, a named one at startup
    return registry


def _check_unique(what: str, values: list[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ImproperlyConfigured(f"session {what}s must be unique; repeated: {', '.join(duplicates)}")
