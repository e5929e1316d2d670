"""Publish the public verification keys of the access session as a JWK Set (RFC 7517 §5).

Other services verify access tokens with these keys, without any shared secret. Only public
signature keys are ever published (see :func:`litestar_jwtsession.jose.keys.publishable_jwks`):
oct keys, encryption keys and private members never are, and JWE session configs are refused:
whoever holds the public key of an encrypted session can mint tokens it accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from litestar import Response, get

from litestar_jwtsession.integration.guards import SKIP_GUARD_OPT_KEY
from litestar_jwtsession.jose.keys import JWK, KeyPair, publishable_jwks
from litestar_jwtsession.session.config import JWESessionConfig, JWSSessionConfig, SessionConfig

if TYPE_CHECKING:
    from litestar.handlers import HTTPRouteHandler

__all__ = ("JWKS_MEDIA_TYPE", "KeySource", "jwks_route", "public_jwk_set")

JWKS_MEDIA_TYPE = "application/jwk-set+json"
"""Media type of a JWK Set (RFC 7517 §8.5)."""


class JWKSet(TypedDict):
    """A JWK Set, as the route's OpenAPI schema documents its answer."""

    keys: list[JWK]


KeySource = JWK | KeyPair | Mapping[str, Any]
"""One JWK, a :class:`~litestar_jwtsession.KeyPair`, or a JWK Set ``{"keys": [...]}``."""


def _config_sources(config: SessionConfig[Any]) -> list[KeySource]:
    if isinstance(config, JWESessionConfig):
        raise ValueError(
            f"refusing to publish the keys of JWE session {config.name!r}: whoever holds the public "
            "key of an encrypted session can mint tokens it accepts; publish JWS (access) keys only"
        )
    if not isinstance(config, JWSSessionConfig):
        raise ValueError(f"expected a JWSSessionConfig, got {type(config).__name__}")
    if config.key_source is not None:
        raise ValueError(
            f"refusing to publish the keys of JWS session {config.name!r}: it verifies with "
            "another service's keys (a key source) and has none of its own"
        )
    key = config.key
    if not isinstance(key, KeyPair):
        raise ValueError(
            f"refusing to publish the key of JWS session {config.name!r}: it is a symmetric (oct) "
            "key; use an asymmetric KeyPair (RS*, PS*, ES*, EdDSA) to let other services verify tokens"
        )
    return [key]


def public_jwk_set(
    keys: Iterable[KeySource] | KeySource | None = None,
    *,
    config: SessionConfig[Any] | Sequence[SessionConfig[Any]] | None = None,
) -> dict[str, list[JWK]]:
    """The public JWK Set ``{"keys": [...]}`` of ``keys`` and of one or more JWS ``config`` objects.

    ``keys`` is one JWK, a :class:`~litestar_jwtsession.KeyPair`, a JWK Set, or an iterable of
    those. A ``config`` contributes its ``KeyPair``'s public key(s) (the public half of the private
    key when it has none). Only public members are kept; identical keys are listed once.

    Raises:
        ValueError: for an oct (symmetric) key, an encryption key, a JWE config, a malformed key,
            two different keys with the same ``kid``, or when there is no key at all.
    """
    sources: list[Any] = []
    if keys is not None:
        sources.extend([keys] if isinstance(keys, KeyPair | Mapping) else keys)
    if config is not None:
        configs = [config] if isinstance(config, SessionConfig) else list(config)
        for item in configs:
            sources.extend(_config_sources(item))
    if not sources:
        raise ValueError("no key to publish: pass keys= or config=")
    return {"keys": publishable_jwks(sources)}


def jwks_route(
    path: str = "/.well-known/jwks.json",
    *,
    keys: Iterable[KeySource] | KeySource | None = None,
    config: SessionConfig[Any] | Sequence[SessionConfig[Any]] | None = None,
    cache_max_age: int = 3600,
    include_in_schema: bool = True,
    name: str | None = "jwks",
) -> HTTPRouteHandler:
    """A ``GET`` route handler serving the public JWK Set of ``keys`` and/or ``config``.

    .. code-block:: python

        app = Litestar(
            route_handlers=[jwks_route(config=access_config), ...],
            plugins=[JWTSessionPlugin(access=access_config)],
        )

    The set is computed (and checked, see :func:`public_jwk_set`) once, when this function is
    called: a key that must not be published fails at start-up, never at request time. The route
    is public: session guards (``requires_session()`` on any layer) and Litestar's authentication
    middleware (``exclude_from_auth``) skip it, and it never reads a session.

    Args:
        path: the route path.
        keys: JWKs, :class:`~litestar_jwtsession.KeyPair` objects or JWK Sets to publish.
        config: JWS session config(s) whose public keys are published.
        cache_max_age: ``Cache-Control: public, max-age=...`` in seconds; ``0`` sends ``no-store``.
            Keep previous keys in the set at least this long after a rotation.
        include_in_schema: list the route in the OpenAPI schema.
        name: the route handler's name (for ``app.route_reverse``).
    """
    if type(cache_max_age) is not int or cache_max_age < 0:
        raise ValueError("cache_max_age must be a non-negative integer")
    jwk_set = JWKSet(keys=public_jwk_set(keys, config=config)["keys"])
    cache_control = "no-store" if cache_max_age == 0 else f"public, max-age={cache_max_age}"

    @get(
        path,
        name=name,
        include_in_schema=include_in_schema,
        sync_to_thread=False,
        media_type=JWKS_MEDIA_TYPE,  # documented as such too
        opt={SKIP_GUARD_OPT_KEY: True, "skip_jwt_session": True, "exclude_from_auth": True},
        summary="Public JWK Set",
        description="The public keys that verify this service's access tokens (RFC 7517).",
    )
    def serve_jwks() -> Response[JWKSet]:
        return Response(jwk_set, media_type=JWKS_MEDIA_TYPE, headers={"Cache-Control": cache_control})

    return serve_jwks
