"""``JWTSessionPlugin``: wires the session configs into a Litestar application.

It only connects parts: the middleware that owns per-request state, one dependency per session,
the signature namespace, and the JSON encoder for :class:`Session`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.connection import Request  # noqa: TC002  # resolved at runtime by Litestar's DI
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.plugins import InitPlugin

from litestar_jwtsession.integration.guards import reissue_from_refresh
from litestar_jwtsession.integration.middleware import JWTSessionMiddleware
from litestar_jwtsession.session.api import request_sessions
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig
from litestar_jwtsession.session.state import Session, SessionSnapshot

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("JWTSessionPlugin",)


class JWTSessionPlugin(InitPlugin):
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
        exclude_opt_key: a route ``opt`` key that skips the session middleware for that route.
    """

    __slots__ = ("access", "by_name", "configs", "exclude_opt_key", "refresh")

    def __init__(
        self,
        access: JWSSessionConfig[Any] | None = None,
        refresh: JWESessionConfig[Any] | None = None,
        *,
        sessions: Sequence[SessionConfig[Any]] = (),
        refresh_fallback: bool = True,
        exclude_opt_key: str = "skip_jwt_session",
    ) -> None:
        if access is not None and not isinstance(access, JWSSessionConfig):
            raise ImproperlyConfiguredException("access must be a JWSSessionConfig")
        if refresh is not None and not isinstance(refresh, JWESessionConfig):
            raise ImproperlyConfiguredException("refresh must be a JWESessionConfig")
        self.access = access
        self.refresh = refresh
        self.configs: tuple[SessionConfig[Any], ...] = tuple(
            config for config in (access, refresh, *sessions) if config is not None
        )
        if not self.configs:
            raise ImproperlyConfiguredException("JWTSessionPlugin needs at least one session config")
        _check_unique("name", [config.name for config in self.configs])
        _check_unique("dependency_key", [str(config.dependency_key) for config in self.configs])
        self.by_name = {config.name: config for config in self.configs}
        self.exclude_opt_key = exclude_opt_key
        if refresh_fallback and access is not None and refresh is not None:
            # registered once even if the same config object serves several apps
            if not access.hooks.contains("on_missing", reissue_from_refresh):
                access.hooks.on_missing(reissue_from_refresh)

    def on_app_init(self, app_config: Any) -> Any:
        # Outermost, so cookies also reach responses other middleware produce from exceptions.
        app_config.middleware.insert(
            0, JWTSessionMiddleware(setup=self, exclude_opt_key=self.exclude_opt_key)
        )
        for config in self.configs:
            key = str(config.dependency_key)
            if key in app_config.dependencies:
                raise ImproperlyConfiguredException(f"dependency {key!r} is already registered")
            app_config.dependencies[key] = Provide(_provider(config))
        app_config.signature_namespace.update(
            Session=Session,
            SessionSnapshot=SessionSnapshot,
            JWTSessionPlugin=JWTSessionPlugin,
        )
        app_config.type_encoders = {**(app_config.type_encoders or {}), Session: Session.as_json}
        return app_config


def _provider(config: SessionConfig[Any]) -> Any:
    async def provide_session(request: Request[Any, Any, Any]) -> Session[Any]:
        return await request_sessions(request).session(config).load()

    return provide_session


def _check_unique(what: str, values: list[str]) -> None:
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise ImproperlyConfiguredException(
            f"session {what}s must be unique; repeated: {', '.join(duplicates)}"
        )
