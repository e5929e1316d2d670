"""Where the test helpers find an app's sessions.

The one module that reaches past the public names: where
:class:`~litestar_jwtsession.JWTSessionPlugin` keeps its configs, its CSRF decisions and its
lifetime policy, how the session layer mints claims, and the CSRF token formula. When those move, re-point
:func:`app_sessions`, :meth:`AppSessions.mint` and :meth:`AppSessions.csrf_token`, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, JWTSessionPlugin
from litestar_jwtsession.jose import validate_claims
from litestar_jwtsession.jose.claims import is_numeric_date
from litestar_jwtsession.session.claims import convert_claims, mint_claims
from litestar_jwtsession.session.csrf import csrf_token
from litestar_jwtsession.session.lifetime import LIFETIME_CLAIM, LifetimePolicy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ("AnyConfig", "AppSessions", "SessionRef", "app_sessions")

AnyConfig = JWSSessionConfig[Any] | JWESessionConfig[Any]
SessionRef = str | JWSSessionConfig[Any] | JWESessionConfig[Any] | None
"""A session named by its config, its name, or ``None`` for the app's access session."""


@dataclass(frozen=True, slots=True)
class AppSessions:
    """The sessions one app's plugin registered, and which of them its CSRF check covers."""

    configs: tuple[AnyConfig, ...]
    access: AnyConfig | None
    csrf_sessions: frozenset[str]
    lifetime: LifetimePolicy | None = None

    def config(self, session: SessionRef) -> AnyConfig:
        """The registered config ``session`` names (default: the access session, or the only one)."""
        if session is None:
            if self.access is not None:
                return self.access
            if len(self.configs) == 1:
                return self.configs[0]
            raise ValueError(f"the app has no access session: name one of {self._names()}")
        name = session if isinstance(session, str) else session.name
        for config in self.configs:
            if config.name == name:
                return config
        raise ValueError(f"the app has no session named {name!r}; its sessions: {self._names()}")

    def csrf_on(self, config: AnyConfig) -> bool:
        """Whether this app asks unsafe requests carrying ``config``'s cookie for a CSRF token."""
        return config.name in self.csrf_sessions

    def csrf_configs(self, session: SessionRef = None) -> Sequence[AnyConfig]:
        """The CSRF-protected sessions to take a token from: the one named, else every one."""
        if session is not None:
            return [self.config(session)]
        return [config for config in self.configs if self.csrf_on(config)]

    def mint(self, config: AnyConfig, data: Mapping[str, Any]) -> dict[str, Any]:
        """The claims ``session.update(data, replace=True)`` would write now, checked as it checks
        them (``SessionError`` when the config's own reader would refuse them); under an absolute
        lifetime, a new login (or the one whose ``fat`` the data carries)."""
        now = config.clock()
        claims = mint_claims(config, data, now)
        lifetime = self.lifetime
        if lifetime is not None:
            fat = data.get(LIFETIME_CLAIM)
            lifetime.stamp(config, claims, fat if is_numeric_date(fat) else now)
        validate_claims(claims, config.codec.rules, config.clock())
        convert_claims(config, claims)
        return claims

    @staticmethod
    def csrf_token(config: AnyConfig, jti: str) -> str:
        """The CSRF token of ``config``'s session whose ``jti`` is given (what its companion holds)."""
        return csrf_token(config.csrf_key, jti)

    def _names(self) -> str:
        return ", ".join(repr(config.name) for config in self.configs)


def app_sessions(client_or_app: Any) -> AppSessions:
    """The sessions of the app behind ``client_or_app`` (a Litestar ``TestClient``,
    ``AsyncTestClient`` or the ``Litestar`` app itself), read from its ``JWTSessionPlugin``."""
    app = getattr(client_or_app, "app", client_or_app)
    plugins = getattr(app, "plugins", None)
    if plugins is None:
        raise TypeError(f"{type(client_or_app).__name__} is neither a Litestar app nor a client of one")
    try:
        plugin = plugins.get(JWTSessionPlugin)
    except KeyError:
        raise ValueError("the app has no JWTSessionPlugin") from None
    return AppSessions(
        configs=cast("tuple[AnyConfig, ...]", tuple(plugin.configs)),
        access=plugin.access,
        csrf_sessions=frozenset(plugin.csrf_sessions),
        lifetime=plugin.runtime.lifetime,
    )
