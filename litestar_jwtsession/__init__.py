"""JWT-backed sessions for Litestar, wire-compatible with unjwt's h3 v2 session adapter."""

from litestar_jwtsession.errors import ConfigurationError, ErrorCode, SessionError, StoreUnavailableError
from litestar_jwtsession.integration.api import (
    clear_jwe_session,
    clear_jws_session,
    get_jwe_session,
    get_jwe_session_token,
    get_jws_session,
    get_jws_session_token,
    seal_jwe_session,
    sign_jws_session,
    unseal_jwe_session,
    update_jwe_session,
    update_jws_session,
    use_jwe_session,
    use_jws_session,
    verify_jws_session,
)
from litestar_jwtsession.integration.cli import JWTSessionCLIPlugin
from litestar_jwtsession.integration.device_api import (
    current_device_id,
    list_device_sessions,
    revoke_device_session,
    revoke_other_device_sessions,
)
from litestar_jwtsession.integration.device_routes import DeviceSessionsController
from litestar_jwtsession.integration.devices import DeviceSession, DeviceSessions, RevokedDeviceSessions
from litestar_jwtsession.integration.guards import (
    SessionGuard,
    requires_fresh_login,
    requires_scopes,
    requires_session,
    session_scopes,
)
from litestar_jwtsession.integration.jwks import jwks_route, public_jwk_set
from litestar_jwtsession.integration.plugin import JWTSessionPlugin, revoke_subject
from litestar_jwtsession.integration.stores import LitestarSessionStore
from litestar_jwtsession.integration.user_agent import describe_user_agent
from litestar_jwtsession.jose import JWK, KeyPair, PasswordKeyWarning, parse_duration
from litestar_jwtsession.jose.keys import derive_jwk_from_password, export_pem, generate_jwk, import_pem
from litestar_jwtsession.remote_keys import RemoteJWKSet
from litestar_jwtsession.session.claims import SessionClaims, SessionSnapshot
from litestar_jwtsession.session.config import CookieOptions, JWESessionConfig, JWSSessionConfig
from litestar_jwtsession.session.events import LoggingTelemetry, SessionEvent, Telemetry
from litestar_jwtsession.session.hooks import HookEvent, SessionHooks
from litestar_jwtsession.session.session import Session
from litestar_jwtsession.session.store import SessionStore

__version__ = "0.1.0"

__all__ = (
    "JWK",
    "ConfigurationError",
    "CookieOptions",
    "DeviceSession",
    "DeviceSessions",
    "DeviceSessionsController",
    "ErrorCode",
    "HookEvent",
    "JWESessionConfig",
    "JWSSessionConfig",
    "JWTSessionCLIPlugin",
    "JWTSessionPlugin",
    "KeyPair",
    "LoggingTelemetry",
    "LitestarSessionStore",
    "PasswordKeyWarning",
    "RemoteJWKSet",
    "RevokedDeviceSessions",
    "Session",
    "SessionClaims",
    "SessionError",
    "SessionEvent",
    "StoreUnavailableError",
    "SessionGuard",
    "SessionHooks",
    "SessionSnapshot",
    "SessionStore",
    "Telemetry",
    "clear_jwe_session",
    "clear_jws_session",
    "current_device_id",
    "derive_jwk_from_password",
    "describe_user_agent",
    "export_pem",
    "generate_jwk",
    "get_jwe_session",
    "get_jwe_session_token",
    "get_jws_session",
    "get_jws_session_token",
    "import_pem",
    "jwks_route",
    "list_device_sessions",
    "parse_duration",
    "public_jwk_set",
    "requires_fresh_login",
    "requires_scopes",
    "requires_session",
    "revoke_device_session",
    "revoke_other_device_sessions",
    "revoke_subject",
    "seal_jwe_session",
    "session_scopes",
    "sign_jws_session",
    "unseal_jwe_session",
    "update_jwe_session",
    "update_jws_session",
    "use_jwe_session",
    "use_jws_session",
    "verify_jws_session",
)
