"""``JWTSessionPlugin``: wires the session configs into a Litestar application.

It only connects parts: the route markers that install sessions, the ``before_send`` hook that
writes their cookies, one dependency per session, the signature namespace, the JSON encoder for
:class:`Session`, and the OpenAPI security schemes and per-route requirements of the session guards.
"""

from __future__ import annotations

from copy import copy
from typing import TYPE_CHECKING, Any, Literal

from litestar import Response
from litestar.connection import Request  # noqa: TC002  # resolved at runtime by Litestar's DI
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Components
from litestar.plugins import CLIPluginProtocol, InitPlugin, ReceiveRoutePlugin

from litestar_jwtsession.errors import StoreUnavailableError
from litestar_jwtsession.integration.cli import add_jwtsession_group
from litestar_jwtsession.integration.context import (
    SCOPE_KEY,
    hold_session_cookies,
    mark_route,
    request_context,
)
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.guards import (
    SKIP_GUARD_OPT_KEY,
    SessionGuard,
    is_automatic_options,
    session_guards,
)
from litestar_jwtsession.integration.openapi import document_route_handler, security_schemes
from litestar_jwtsession.integration.runtime import build_runtime
from litestar_jwtsession.integration.send_hook import session_send_hook
from litestar_jwtsession.integration.stores import LitestarSessionStore, app_of
from litestar_jwtsession.session.claims import SessionClaims, SessionSnapshot
from litestar_jwtsession.session.session import Session

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from click import Group
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.routes import BaseRoute
    from litestar.stores.base import Store

    from litestar_jwtsession.integration.devices import DeviceSessions
    from litestar_jwtsession.jose.durations import Duration
    from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
    from litestar_jwtsession.session.events import Telemetry

    RetrieveUserHandler = Callable[[Any, ASGIConnection[Any, Any, Any, Any]], Awaitable[Any] | Any]

__all__ = ("JWTSessionPlugin", "revoke_subject")


class JWTSessionPlugin(InitPlugin, ReceiveRoutePlugin, CLIPluginProtocol):
    """Register JWT sessions on a Litestar app.

    .. code-block:: python

        app = Litestar(
            route_handlers=[...],
            plugins=[JWTSessionPlugin(access=JWSSessionConfig(...), refresh=JWESessionConfig(...))],
        )

    Args:
        access: the signed access session (guards check it by default).
        refresh: the encrypted refresh session the access session is re-issued from.
        sessions: further named sessions.
        refresh_fallback: re-issue a missing or expired access session from a valid refresh session
            whenever the access session is read (needs both ``access`` and ``refresh``).
        retrieve_user_handler: ``(claims, connection) -> user | None``, sync or async; when a session guard
            admits a request, ``request.auth`` holds the claims and ``request.user`` this user
            (``None`` means 401). Without it ``request.user`` is the claims as well.
        exclude_opt_key: a route ``opt`` key that opts a route out of sessions (reading one
            there raises ``ERR_SESSION_NOT_INSTALLED``).
        csrf: ``True`` turns CSRF protection on for every cookie-enabled session (``False``: off
            for all); ``None`` keeps each config's ``csrf``, except that a cookie refresh session
            inherits it from the access session when the refresh fallback is on (otherwise a
            forged request without an access cookie would be served from the refresh cookie).
            See :mod:`litestar_jwtsession.session.csrf`.
        store: enables revocation and refresh-token rotation (see
            :mod:`litestar_jwtsession.integration.stores`): a Litestar ``Store`` (``MemoryStore()``
            for one process, ``RedisStore`` shared by every instance) or the name of one in
            ``app.stores``. ``None`` (default): no shared state, tokens live until they expire.
            With a store, ``clear()`` revokes the token and :meth:`revoke_subject` logs a
            subject out everywhere.
        rotate_refresh: rotate the refresh token on every refresh fallback, with reuse detection
            (RFC 9700 §4.14). ``None`` (default): on when a store, a refresh config and the refresh
            fallback are configured. Needs a ``MemoryStore`` or a ``RedisStore``.
        rotation_grace: seconds during which a rotated refresh token presented again by the same
            client (racing tabs) gets the same successor instead of counting as reuse.
        rotation_client_key: ``(connection) -> str`` identifying the client within the grace
            window. Default: a random ``HttpOnly`` device cookie ``<refresh name>-device``
            written with the refresh cookie, which racing tabs share and a thief lacks (see
            :class:`~litestar_jwtsession.integration.stores.DeviceCookie`); the ``User-Agent``
            for a refresh session without a cookie.
        store_timeout: seconds one store operation may take (default 2); past it, or when the
            store refuses the connection, the store counts as unavailable. Bound the Redis
            client's own waits too (``socket_timeout``, ``socket_connect_timeout``).
        revocation_on_outage: what a request whose token must be checked against an unavailable
            store gets: ``"refuse"`` (default, fail closed) answers 503 with ``Retry-After``;
            ``"allow"`` lets the revocation check pass (tokens are still verified, but a revoked
            one is accepted until the store is back). Rotation, ``clear()``'s revocation and
            :meth:`revoke_subject` always fail closed. No cookie is changed by an outage.
        store_retry_after: the ``Retry-After`` seconds of that 503.
        telemetry: where the sessions report events (refused tokens, refreshes, rotations,
            detected reuse, revocations, store outages) and whether their reads and writes are
            traced. ``None`` (default): the ``litestar_jwtsession`` logger only, no tracing.
            ``litestar_jwtsession.otel.OpenTelemetry()`` (the ``otel`` extra) adds spans and
            metrics. See ``docs/observability.md``.
        devices: device sessions, one per refresh family (see
            :mod:`litestar_jwtsession.integration.devices`): ``True`` (default) keeps them
            wherever refresh tokens rotate (a store, both sessions, the refresh fallback);
            a :class:`~litestar_jwtsession.DeviceSessions` sets the label hook and the cap per
            subject; ``False`` turns them off.
        idle_timeout: a refresh family not refreshed within this duration (seconds, a
            ``timedelta`` or a duration string such as ``"1D"``) is over: its refresh token reads
            as anonymous with ``ERR_SESSION_IDLE_TIMEOUT`` and ``on_expire`` fires on the refresh
            config. Kept in the store, so it needs refresh-token rotation; without a store the
            refresh session's ``max_age`` is its idle timeout. ``None`` (default): no idle limit
            beyond ``max_age``.
        absolute_lifetime: a login (its refresh family and the access sessions issued from it)
            older than this duration is over however often it rotates or slides: no token of it
            expires later, and one read past it is refused with ``ERR_SESSION_LIFETIME_EXCEEDED``
            (``on_expire`` fires). Carried in the tokens (the ``fat`` claim), so it holds with or
            without a store. ``None`` (default): a rotating family lives as long as it is used.
            See ``docs/lifetime.md``.
    """

    __slots__ = ("runtime",)

    def __init__(
        self,
        access: JWSSessionConfig[Any] | None = None,
        refresh: JWESessionConfig[Any] | None = None,
        *,
        sessions: Sequence[SessionConfig[Any]] = (),
        refresh_fallback: bool = True,
        retrieve_user_handler: RetrieveUserHandler | None = None,
        exclude_opt_key: str = "skip_jwt_session",
        csrf: bool | None = None,
        store: str | Store | None = None,
        rotate_refresh: bool | None = None,
        rotation_grace: float = 10.0,
        rotation_client_key: Callable[[ASGIConnection[Any, Any, Any, Any]], str] | None = None,
        store_timeout: float = 2.0,
        revocation_on_outage: Literal["refuse", "allow"] = "refuse",
        store_retry_after: int = 5,
        telemetry: Telemetry | None = None,
        devices: DeviceSessions | bool = True,
        idle_timeout: Duration | None = None,
        absolute_lifetime: Duration | None = None,
    ) -> None:
        self.runtime = build_runtime(
            access=access,
            refresh=refresh,
            sessions=tuple(sessions),
            refresh_fallback=refresh_fallback,
            retrieve_user_handler=retrieve_user_handler,
            exclude_opt_key=exclude_opt_key,
            csrf=csrf,
            store=store,
            rotate_refresh=rotate_refresh,
            rotation_grace=rotation_grace,
            rotation_client_key=rotation_client_key,
            store_timeout=store_timeout,
            revocation_on_outage=revocation_on_outage,
            store_retry_after=store_retry_after,
            telemetry=telemetry,
            devices=devices,
            idle_timeout=idle_timeout,
            absolute_lifetime=absolute_lifetime,
        )
        """What this plugin decided for its app, frozen (the configs are never changed)."""

    # the runtime's answers, for code that holds the plugin
    @property
    def access(self) -> JWSSessionConfig[Any] | None:
        return self.runtime.access

    @property
    def refresh(self) -> JWESessionConfig[Any] | None:
        return self.runtime.refresh

    @property
    def configs(self) -> tuple[SessionConfig[Any], ...]:
        return self.runtime.configs

    @property
    def csrf_sessions(self) -> frozenset[str]:
        """Names of the sessions whose cookies need a CSRF token in this app."""
        return self.runtime.csrf_sessions

    @property
    def session_store(self) -> LitestarSessionStore | None:
        """The revocation backend; ``None`` without a store."""
        return self.runtime.store

    @property
    def refresh_rotation(self) -> LitestarSessionStore | None:
        """Rotates the refresh session in the refresh fallback; ``None`` when rotation is off."""
        return self.runtime.rotation

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # found by the first session access of a request: on its route (see receive_route), or
        # in the app's state where no route matched
        app_config.state[SCOPE_KEY] = self.runtime
        # last, so the cookies go out after every other hook, on every response (errors too)
        app_config.before_send.append(session_send_hook(self.runtime))
        for config in self.configs:
            key = config.injection_key
            if key in app_config.dependencies:
                raise ImproperlyConfigured(f"dependency {key!r} is already registered")
            app_config.dependencies[key] = Provide(_provider(config))
        namespace: dict[str, Any] = {
            "Session": Session,
            "SessionClaims": SessionClaims,
            "SessionSnapshot": SessionSnapshot,
            "JWTSessionPlugin": JWTSessionPlugin,
        }
        namespace.update({config.claims.__name__: config.claims for config in self.configs if config.claims})
        app_config.signature_namespace.update(namespace)
        if self.runtime.store is not None:
            app_config.on_startup.append(self._check_store)
        app_config.type_encoders = {**(app_config.type_encoders or {}), Session: Session.as_json}
        if self.runtime.store is not None:
            app_config.exception_handlers = {
                StoreUnavailableError: self._store_unavailable,
                **(app_config.exception_handlers or {}),  # an app's own handler wins
            }
        if app_config.openapi_config is not None:
            components = app_config.openapi_config.components
            listed = components if isinstance(components, list) else [components]
            # a copy, so an OpenAPIConfig shared by several apps is not changed
            openapi_config = copy(app_config.openapi_config)
            openapi_config.components = [*listed, Components(security_schemes=security_schemes(self.configs))]
            app_config.openapi_config = openapi_config
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        """Add ``litestar jwtsession ...`` (jwks, inspect, keygen) working on this plugin's sessions
        (see :mod:`litestar_jwtsession.integration.cli`)."""
        add_jwtsession_group(cli, self.configs)

    def _store_unavailable(
        self, request: Request[Any, Any, Any], exc: StoreUnavailableError
    ) -> Response[Any]:
        """503 for a request that needed the unavailable store; the session cookies stay as they
        are (none is written), so the same client is served again once the store is back."""
        hold_session_cookies(request)
        return Response(
            {"status_code": 503, "detail": "Session store unavailable"},
            status_code=503,
            headers={"Retry-After": str(self.runtime.store_retry_after)},
        )

    def _check_store(self, app: Litestar) -> None:
        """At startup: look a named store up now, so an unusable one fails before any request."""
        if self.runtime.store is not None:
            self.runtime.store.resolve(app)
        if self.runtime.devices is not None:
            self.runtime.devices.check(app)

    async def revoke_subject(
        self, connection_or_app: Any, sub: str, config: SessionConfig[Any] | str | None = None
    ) -> None:
        """Log ``sub`` out everywhere: revoke its tokens of ``config`` (a config or a session name;
        default: every session of this plugin) issued up to now. Needs ``store=``.

        ``connection_or_app`` is the app or a connection of it (to find a store given by name).
        See :func:`litestar_jwtsession.revoke_subject`.
        """
        store = self.runtime.store
        if store is None:
            raise ImproperlyConfigured("revoke_subject needs JWTSessionPlugin(store=...)")
        configs = self.configs if config is None else (self.runtime.config_for(config),)
        for each in configs:
            await store.revoke_subject(connection_or_app, each, sub)

    def receive_route(self, route: BaseRoute) -> None:
        """Install sessions on each handler not opted out (a marker in its ``opt``), and document
        its session guards in OpenAPI (see :mod:`litestar_jwtsession.integration.openapi`)."""
        handlers = getattr(route, "route_handlers", None)
        if handlers is None:  # WebSocket and ASGI routes have one handler
            handlers = [route.route_handler] if hasattr(route, "route_handler") else []
        for handler in handlers:
            mark_route(handler, self.runtime, self.runtime.exclude_opt_key)
            if handler.opt.get(SKIP_GUARD_OPT_KEY):
                continue
            guards = session_guards(handler)
            self._check_guards(route.path, handler, guards)
            if isinstance(handler, HTTPRouteHandler):
                document_route_handler(self.runtime, handler, guards)

    def _check_guards(self, path: str, handler: BaseRouteHandler, guards: list[SessionGuard]) -> None:
        """Fail as the app is built, not on a request, when a session guard of ``handler`` cannot
        work: its session is not registered, its claims lack ``auth_time`` for a fresh-login
        check, or the route is opted out of sessions. Litestar's own ``OPTIONS`` handler is left
        out, as the guards let it through (it takes only the ``opt`` of the route's layers)."""
        if not guards or is_automatic_options(handler):
            return
        where = f"route {path!r} ({handler.handler_name})"
        if handler.opt.get(SCOPE_KEY) is None:
            raise ImproperlyConfigured(
                f"{where} has a session guard but is opted out of sessions "
                f"({self.runtime.exclude_opt_key!r} in its opt); opt out of the guard with "
                f"{SKIP_GUARD_OPT_KEY!r} too, or not at all"
            )
        for guard in guards:
            try:
                guard.check(self.runtime)
            except ImproperlyConfigured as exc:
                raise ImproperlyConfigured(f"{where}: {exc.detail}") from exc


def _provider(config: SessionConfig[Any]) -> Any:
    async def provide_session(request: Request[Any, Any, Any]) -> Session[Any]:
        session = request_context(request).session(config)
        # built from a guard's read, a session is loaded already: no read to await
        return session if session.is_loaded else await session.load()

    return provide_session


async def revoke_subject(
    connection_or_app: Any, sub: str, config: SessionConfig[Any] | str | None = None
) -> None:
    """Log a subject out everywhere: revoke every session of ``sub`` issued up to now.

    ``connection_or_app`` is a Litestar app, request or WebSocket whose app has a
    ``JWTSessionPlugin(store=...)``; ``config`` (a config or a session name) limits it to one
    session, by default every session of the plugin. Tokens issued in the same second as the
    revocation are revoked too (``iat`` has whole seconds), so a fresh login right after it
    should wait for the next second.

    .. code-block:: python

        @post("/logout-everywhere", guards=[requires_session()])
        async def logout_everywhere(request: Request, access: NamedDependency[Session[Any]]) -> None:
            await revoke_subject(request, access.data["sub"])
    """
    plugin = app_of(connection_or_app).plugins.get(JWTSessionPlugin)
    await plugin.revoke_subject(connection_or_app, sub, config)
