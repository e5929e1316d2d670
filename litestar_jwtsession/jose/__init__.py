"""The pure JOSE layer: keys, algorithm policy, token codecs and claim validation (no Litestar)."""

from __future__ import annotations

from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.jose.algorithms import (
    JWE_CONTENT_ALGORITHMS,
    JWE_KEY_ALGORITHMS,
    JWS_ALGORITHMS,
    PBES2_ALGORITHMS,
    JWEAllowList,
    jwe_allowed_algorithms,
    jws_allowed_algorithms,
)
from litestar_jwtsession.jose.claims import ClaimRules, validate_claims
from litestar_jwtsession.jose.durations import Duration, parse_duration
from litestar_jwtsession.jose.jwe import JWECodec
from litestar_jwtsession.jose.jws import JWSCodec
from litestar_jwtsession.jose.keys import (
    JWK,
    KeyPair,
    derive_jwk_from_password,
    export_pem,
    generate_jwk,
    import_pem,
)
from litestar_jwtsession.jose.password_checks import PasswordKeyWarning
from litestar_jwtsession.jose.registries import jwe_registry, jws_registry

__all__ = (
    "JWE_CONTENT_ALGORITHMS",
    "JWE_KEY_ALGORITHMS",
    "JWK",
    "JWS_ALGORITHMS",
    "PBES2_ALGORITHMS",
    "ClaimRules",
    "Duration",
    "ErrorCode",
    "JWEAllowList",
    "JWECodec",
    "JWSCodec",
    "KeyPair",
    "PasswordKeyWarning",
    "SessionError",
    "derive_jwk_from_password",
    "export_pem",
    "generate_jwk",
    "import_pem",
    "jwe_allowed_algorithms",
    "jwe_registry",
    "jws_allowed_algorithms",
    "jws_registry",
    "parse_duration",
    "validate_claims",
)
