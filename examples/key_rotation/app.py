"""Key rotation: sessions keep working while the keys behind them are replaced.

- The **access** session (JWS, ES256) is signed with the *current* key only; its token carries
  the key's ``kid``. It is verified against the current and the *previous* public keys, given to
  :class:`~litestar_jwtsession.KeyPair` as a JWK Set. A token signed before a rotation stays valid
  until it expires; one signed by a key that was retired (or never known) is refused.
- The **refresh** session (JWE, ``A256KW``) is sealed with the current wrapping key. Reading goes
  through an ``on_key_lookup`` hook that picks the key by the token's ``kid`` from a key ring, so
  older refresh tokens still open. An unknown ``kid`` is refused with ``ERR_KEY_LOOKUP_FAILED``.
- ``GET /.well-known/jwks.json`` publishes the public access keys (current and previous) for other
  services; the refresh keys are secret and never published.

Rotating means: generate a new key, make it current, keep the old one as "previous" at least as
long as tokens signed with it live (the access ``max_age``, plus the JWKS cache time), then drop
it. :func:`rotate` does that on a :class:`KeyRing`; a real deployment stores the ring in a secret
store and restarts (or rebuilds) the app with it.

Run the demo with ``uvicorn examples.key_rotation.app:app``. Its keys are generated in memory at
start-up, so a restart logs everyone out.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from litestar_jwtsession import (
    JWK,
    ErrorCode,
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    SessionError,
    generate_jwk,
    jwks_route,
    requires_session,
    use_jwe_session,
    use_jws_session,
)

__all__ = ("KeyRing", "create_app", "new_key_ring", "rotate", "session_configs")

logger = logging.getLogger(__name__)

ACCESS_ALG = "ES256"
REFRESH_ALG = "A256KW"
ACCESS_SESSION = "access_token"
REFRESH_SESSION = "refresh_token"
KEEP_PREVIOUS = 1  # how many retired access keys still verify


@dataclass(frozen=True)
class KeyRing:
    """Every key the app knows, by role."""

    access: KeyPair
    """The current signing key pair (private and public JWK, same ``kid``)."""
    previous_access: tuple[JWK, ...] = ()
    """Public JWKs of retired signing keys, newest first: they still verify, never sign."""
    refresh_kid: str = ""
    """``kid`` of the current refresh (JWE key-wrapping) key in ``refresh_keys``."""
    refresh_keys: Mapping[str, JWK] = field(default_factory=dict)
    """Refresh keys by ``kid``: the current one seals, all of them open."""

    def access_key(self) -> KeyPair:
        """The access session's key: sign with the current key, verify with current + previous."""
        current_public = self.access.public_key
        assert isinstance(current_public, dict)
        return KeyPair(
            private_key=self.access.private_key,
            public_key={"keys": [current_public, *self.previous_access]},
        )


def _new_access_pair() -> KeyPair:
    pair = generate_jwk(ACCESS_ALG)
    assert isinstance(pair, KeyPair)
    return pair


def _new_refresh_key() -> JWK:
    key = generate_jwk(REFRESH_ALG)
    assert isinstance(key, dict)
    return key


def new_key_ring() -> KeyRing:
    """A ring with one fresh access key pair and one refresh key."""
    refresh = _new_refresh_key()
    return KeyRing(
        access=_new_access_pair(), refresh_kid=refresh["kid"], refresh_keys={refresh["kid"]: refresh}
    )


def rotate(ring: KeyRing, *, keep: int = KEEP_PREVIOUS) -> KeyRing:
    """New current keys; the old access key moves to ``previous_access`` (at most ``keep`` kept).

    Old refresh keys stay in the ring: refresh tokens live for days. Drop one once every token
    sealed with it has expired.
    """
    retired = ring.access.public_key
    assert isinstance(retired, dict)
    refresh = _new_refresh_key()
    return replace(
        ring,
        access=_new_access_pair(),
        previous_access=(retired, *ring.previous_access)[:keep],
        refresh_kid=refresh["kid"],
        refresh_keys={**ring.refresh_keys, refresh["kid"]: refresh},
    )


def session_configs(
    ring: KeyRing, *, clock: Callable[[], float] = time.time
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    """The access (JWS, 15 minutes) and refresh (JWE, 7 days) configs for ``ring``."""
    access_config: JWSSessionConfig[Any] = JWSSessionConfig(
        key=ring.access_key(), name=ACCESS_SESSION, max_age="15m", clock=clock
    )
    refresh_config: JWESessionConfig[Any] = JWESessionConfig(
        key=ring.refresh_keys[ring.refresh_kid], name=REFRESH_SESSION, max_age="7D", clock=clock
    )

    @refresh_config.hooks.on_key_lookup
    def refresh_key_by_kid(event: HookEvent) -> JWK:
        # event.header is the token's protected header, not yet verified: only use it to pick a key
        kid = event.header.get("kid") if event.header is not None else None
        key = ring.refresh_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise SessionError(ErrorCode.KEY_LOOKUP_FAILED, f"no refresh key with kid {kid!r}")
        return key

    def log_rejection(event: HookEvent) -> None:
        assert event.error is not None
        logger.warning("%s: token refused (%s): %s", event.config.name, event.error.code, event.error.message)

    access_config.hooks.on_error(log_rejection)
    refresh_config.hooks.on_error(log_rejection)
    return access_config, refresh_config


class Login(msgspec.Struct):
    username: str


def create_app(ring: KeyRing | None = None, *, clock: Callable[[], float] = time.time) -> Litestar:
    """The demo app for ``ring`` (a fresh one when omitted)."""
    ring = ring or new_key_ring()
    access_config, refresh_config = session_configs(ring, clock=clock)

    @post("/login")  # a body that is not {"username": "..."} gets Litestar's (documented) 400
    async def login(request: Request[Any, Any, Any], data: JSONBody[Login]) -> dict[str, Any]:
        # a real application checks credentials here
        refresh = await use_jwe_session(request, refresh_config)
        access = await use_jws_session(request, access_config)
        await refresh.update({"sub": data.username}, replace=True)
        await access.update({"sub": data.username}, replace=True)
        return {"user": data.username}

    @get("/profile", guards=[requires_session()])
    async def profile(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
        return {"user": access_token.data.get("sub")}

    return Litestar(
        route_handlers=[login, profile, jwks_route(config=access_config)],
        plugins=[JWTSessionPlugin(access=access_config, refresh=refresh_config)],
    )


_app: Litestar | None = None


def __getattr__(name: str) -> Any:
    # ``app`` is built on first access (as uvicorn does), so importing the module generates no keys
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
