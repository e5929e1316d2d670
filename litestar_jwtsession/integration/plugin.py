"""``JWTSessionPlugin``: wires the session configs into a Litestar application.

It only connects parts: the route markers that install sessions, the ``before_send`` hook that
writes their cookies, one dependency per session, the signature namespace, the JSON encoder for
:class:`Session`, and the OpenAPI security schemes and per-route requirements of the session guards.
"""

from __future__ import annotations

from copy import copy
from itertools import product
from typing import TYPE_CHECKING, Any, Literal

from litestar import Response
from litestar.connection import Request  # noqa: TC002  # resolved at runtime by Litestar's DI
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Components, Reference, SecurityRequirement, SecurityScheme
from litestar.plugins import InitPlugin, ReceiveRoutePlugin

from litestar_jwtsession.errors import StoreUnavailableError
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.guards import (
    SKIP_GUARD_OPT_KEY,
    SessionGuard,
    reissue_from_refresh,
    resolve_session_config,
)
from litestar_jwtsession.integration.send_hook import session_send_hook
from litestar_jwtsession.integration.stores import LitestarSessionStore, app_of
from litestar_jwtsession.session.admission import SessionInstall
from litestar_jwtsession.session.api import SCOPE_KEY, hold_session_cookies, request_sessions
from litestar_jwtsession.session.claims import SessionClaims, SessionSnapshot
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
from litestar_jwtsession.session.state import Session

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.connection import ASGIConnection
    from litestar.routes import BaseRoute
    from litestar.stores.base import Store

    from litestar_jwtsession.session.hooks import HookEvent

    RetrieveUserHandler = Callable[[Any, ASGIConnection[Any, Any, Any, Any]], Awaitable[Any] | Any]

__all__ = ("JWTSessionPlugin", "revoke_subject")


class JWTSessionPlugin(InitPlugin, ReceiveRoutePlugin):
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
    """

    __slots__ = (
        "_install",
        "access",
        "by_name",
        "configs",
        "csrf_sessions",
        "exclude_opt_key",
        "fallback",
        "refresh",
        "refresh_rotation",
        "retrieve_user_handler",
        "session_store",
        "store_retry_after",
    )

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
    ) -> None:
        if access is not None and not isinstance(access, JWSSessionConfig):
            raise ImproperlyConfigured("access must be a JWSSessionConfig")
        if refresh is not None and not isinstance(refresh, JWESessionConfig):
            raise ImproperlyConfigured("refresh must be a JWESessionConfig")
        self.access = access
        self.refresh = refresh
        self.configs: tuple[SessionConfig[Any], ...] = tuple(
            config for config in (access, refresh, *sessions) if config is not None
        )
        if not self.configs:
            raise ImproperlyConfigured("JWTSessionPlugin needs at least one session config")
        _check_unique("name", [config.name for config in self.configs])
        _check_unique("dependency key", [config.injection_key for config in self.configs])
        self.csrf_sessions = _csrf_sessions(self.configs, csrf, access, refresh if refresh_fallback else None)
        """Names of the sessions whose cookies need a CSRF token in this app (the configs' own
        ``csrf`` as declared, adjusted by ``csrf=`` and the refresh fallback; never written back)."""
        self.by_name = {config.name: config for config in self.configs}
        self.retrieve_user_handler = retrieve_user_handler
        self.exclude_opt_key = exclude_opt_key
        self._install = SessionInstall(self, exclude_opt_key=exclude_opt_key)
        self.fallback: str | None = None
        """The session re-issued from the refresh session when it is missing (the access one)."""
        if refresh_fallback and access is not None and refresh is not None:
            self.fallback = access.name  # run after its own on_missing hooks; configs stay untouched
        rotates = refresh_fallback and access is not None and refresh is not None and store is not None
        if rotate_refresh and not rotates:
            raise ImproperlyConfigured(
                "rotate_refresh needs store=, access=, refresh= and the refresh fallback"
            )
        rotation = refresh if rotates and rotate_refresh is not False else None
        self.session_store: LitestarSessionStore | None = None
        """The revocation backend (``RequestSessions.setup.session_store``); ``None`` without a store."""
        if store is not None:
            self.session_store = LitestarSessionStore(
                store,
                rotation=rotation,
                rotation_grace=rotation_grace,
                rotation_client_key=rotation_client_key,
                timeout=store_timeout,
                revocation_on_outage=revocation_on_outage,
            )
        if type(store_retry_after) is not int or store_retry_after < 0:
            raise ImproperlyConfigured("store_retry_after must be a whole number of seconds >= 0")
        self.store_retry_after = store_retry_after
        device = None if self.session_store is None else self.session_store.device_cookie
        if device is not None:
            taken = {config.name for config in self.configs}
            taken.update(
                config.csrf_cookie_name for config in self.configs if config.name in self.csrf_sessions
            )
            if device.name in taken:
                raise ImproperlyConfigured(
                    f"session cookie names must be unique; repeated: {device.name} (the device cookie of "
                    f"{device.session_name!r}: rename that session or pass rotation_client_key)"
                )
        self.refresh_rotation: LitestarSessionStore | None = None if rotation is None else self.session_store
        """Rotates the refresh session in the refresh fallback; ``None`` when rotation is off."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # found by the first session access of a request: on its route (see receive_route), or
        # in the app's state where no route matched
        app_config.state[SCOPE_KEY] = self._install
        # last, so the cookies go out after every other hook, on every response (errors too)
        app_config.before_send.append(session_send_hook(self._install))
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
        if self.session_store is not None:
            app_config.on_startup.append(self._check_store)
        app_config.type_encoders = {**(app_config.type_encoders or {}), Session: Session.as_json}
        if self.session_store is not None:
            app_config.exception_handlers = {
                StoreUnavailableError: self._store_unavailable,
                **(app_config.exception_handlers or {}),  # an app's own handler wins
            }
        if app_config.openapi_config is not None:
            components = app_config.openapi_config.components
            listed = components if isinstance(components, list) else [components]
            # a copy, so an OpenAPIConfig shared by several apps is not changed
            openapi_config = copy(app_config.openapi_config)
            openapi_config.components = [*listed, Components(security_schemes=self._security_schemes())]
            app_config.openapi_config = openapi_config
        return app_config

    def _store_unavailable(
        self, request: Request[Any, Any, Any], exc: StoreUnavailableError
    ) -> Response[Any]:
        """503 for a request that needed the unavailable store; the session cookies stay as they
        are (none is written), so the same client is served again once the store is back."""
        hold_session_cookies(request)
        return Response(
            {"status_code": 503, "detail": "Session store unavailable"},
            status_code=503,
            headers={"Retry-After": str(self.store_retry_after)},
        )

    def _check_store(self, app: Litestar) -> None:
        """At startup: look a named store up now, so an unusable one fails before any request."""
        if self.session_store is not None:
            self.session_store.resolve(app)

    async def refresh_fallback(self, event: HookEvent) -> None:
        """Re-issue the missing access session of ``event`` from the refresh session (see
        :func:`~litestar_jwtsession.integration.guards.reissue_from_refresh`)."""
        await reissue_from_refresh(event)

    async def revoke_subject(
        self, connection_or_app: Any, sub: str, config: SessionConfig[Any] | str | None = None
    ) -> None:
        """Log ``sub`` out everywhere: revoke its tokens of ``config`` (a config or a session name;
        default: every session of this plugin) issued up to now. Needs ``store=``.

        ``connection_or_app`` is the app or a connection of it (to find a store given by name).
        See :func:`litestar_jwtsession.revoke_subject`.
        """
        if self.session_store is None:
            raise ImproperlyConfigured("revoke_subject needs JWTSessionPlugin(store=...)")
        configs = self.configs if config is None else (resolve_session_config(self, config),)
        for each in configs:
            await self.session_store.revoke_subject(connection_or_app, each, sub)

    def receive_route(self, route: BaseRoute) -> None:
        """Install sessions on each handler not opted out (a marker in its ``opt``), and document
        its session guards as OpenAPI security requirements."""
        handlers = getattr(route, "route_handlers", None)
        if handlers is None:  # WebSocket and ASGI routes have one handler
            handlers = [route.route_handler] if hasattr(route, "route_handler") else []
        for handler in handlers:
            if not handler.opt.get(self.exclude_opt_key):
                handler.opt[SCOPE_KEY] = self._install
            if not isinstance(handler, HTTPRouteHandler) or handler.opt.get(SKIP_GUARD_OPT_KEY):
                continue
            guards = [guard for guard in handler.resolve_guards() if isinstance(guard, SessionGuard)]
            existing = list(handler.security or ())
            # a handler can reach us more than once (e.g. mounted on several paths): add each once
            missing = [item for item in self._requirements(guards) if item not in existing]
            if missing:
                handler.security = [*existing, *missing]

    def _security_schemes(self) -> dict[str, SecurityScheme | Reference]:
        schemes: dict[str, SecurityScheme | Reference] = {}
        for config in self.configs:
            kind = "signed JWT (JWS)" if config.kind == "jws" else "encrypted JWT (JWE)"
            if config.cookie_spec is not None:
                schemes[f"{config.name}_cookie"] = SecurityScheme(
                    type="apiKey",
                    name=config.name,
                    security_scheme_in="cookie",
                    description=f"Session {config.name!r}: a {kind} in a cookie (long ones chunked)",
                )
            if config.header_name == "authorization":
                schemes[f"{config.name}_header"] = SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT", description=f"Session {config.name!r}"
                )
            elif config.header_name is not None:
                schemes[f"{config.name}_header"] = SecurityScheme(
                    type="apiKey",
                    name=config.header_name,
                    security_scheme_in="header",
                    description=f"Session {config.name!r}: a {kind}, optionally prefixed with 'Bearer '",
                )
        return schemes

    def _requirements(self, guards: list[SessionGuard]) -> list[SecurityRequirement]:
        """OpenAPI requirements for a handler's session guards.

        Entries of ``security`` are alternatives (OR) and the schemes inside one entry all apply
        (AND). So the guards of every layer merge per session (their scopes add up), each session
        may come by any of its transports, an ``any_of`` guard yields one alternative per scope,
        and several guarded sessions combine into entries naming all of them.
        """
        per_session: dict[str, tuple[SessionConfig[Any], set[str], list[frozenset[str]]]] = {}
        for guard in guards:
            try:
                config = resolve_session_config(self, guard.session)
            except ImproperlyConfigured:
                continue  # refused with a clear error when the route is called
            _, required, alternatives = per_session.setdefault(config.name, (config, set(), []))
            if guard.any_of:
                alternatives.append(guard.scopes)
            else:
                required.update(guard.scopes)
        choices_per_session = []
        for config, required, alternatives in per_session.values():
            scope_sets = [required.union(picked) for picked in product(*(sorted(a) for a in alternatives))]
            transports = [f"{config.name}_cookie"] if config.cookie_spec is not None else []
            if config.header_name is not None:
                transports.append(f"{config.name}_header")
            choices_per_session.append(
                [(name, sorted(scopes)) for name in transports for scopes in scope_sets]
            )
        return [dict(combination) for combination in product(*choices_per_session)] if per_session else []


def _provider(config: SessionConfig[Any]) -> Any:
    async def provide_session(request: Request[Any, Any, Any]) -> Session[Any]:
        return await request_sessions(request).session(config).load()

    return provide_session


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


def _check_unique(what: str, values: list[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ImproperlyConfigured(f"session {what}s must be unique; repeated: {', '.join(duplicates)}")


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
