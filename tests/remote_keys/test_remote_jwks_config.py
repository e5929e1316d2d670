"""RemoteJWKSet's configuration: what it refuses at start-up, and what it decides before any
fetch (no server needed: a refused token never reaches the network)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from litestar_jwtsession import (
    ConfigurationError,
    ErrorCode,
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    RemoteJWKSet,
    SessionError,
    generate_jwk,
)
from litestar_jwtsession.remote_keys.fetch import Fetched, cache_lifetime
from tests.remote_keys.servers import closed_port

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = f"http://127.0.0.1:{closed_port()}/jwks.json"  # any fetch would be refused


@pytest.mark.parametrize(
    "url",
    [
        "https://issuer.example/.well-known/jwks.json",
        "http://localhost:8000/jwks.json",
        "http://127.0.0.1/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://[::1]:8000/jwks.json",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert RemoteJWKSet(url).url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://issuer.example/jwks.json",  # plain http off the machine
        "http://10.0.0.1/jwks.json",
        "ftp://issuer.example/jwks.json",
        "issuer.example/jwks.json",
        "https:///jwks.json",
        "https://user:secret@issuer.example/jwks.json",
        "https://[::1/jwks.json",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        RemoteJWKSet(url)


def test_plain_http_elsewhere_needs_the_explicit_flag() -> None:
    assert RemoteJWKSet("http://issuer.internal/jwks.json", allow_http=True).url.startswith("http://")


@pytest.mark.parametrize(
    "options",
    [
        {"algorithms": ["HS256"]},  # a symmetric key cannot be published
        {"algorithms": ["ES256", "none"]},
        {"algorithms": ["RSA-OAEP"]},  # an encryption algorithm
        {"algorithms": []},
        {"timeout": 0},
        {"timeout": 301},
        {"max_bytes": 10},
        {"max_keys": 0},
        {"refetch_interval": "2m", "cache_floor": "1m"},  # would allow a fetch per request
        {"cache_floor": "2h", "cache_ceiling": "1h"},
        {"refetch_interval": 0},
        {"cache_default": "ten minutes"},
    ],
)
def test_refused_options(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RemoteJWKSet("https://issuer.example/jwks.json", **options)


def test_the_package_imports_without_the_remote_extra() -> None:
    """httpx is optional: only creating a RemoteJWKSet needs it, and says how to get it."""
    script = (
        "import sys; sys.modules['httpx'] = None\n"
        "import litestar_jwtsession as package\n"
        "try:\n"
        "    package.RemoteJWKSet('https://issuer.example/jwks.json')\n"
        "except package.ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "pip install 'litestar-jwtsession[remote]'" in result.stdout


def test_the_verify_only_key_signs_nothing_and_follows_a_pinned_alg() -> None:
    remote = RemoteJWKSet(NOWHERE)
    config: JWSSessionConfig[Any] = JWSSessionConfig(key=remote.verify_only_key(), name="access_token")
    with pytest.raises(SessionError) as refused:
        config.encode_token({"jti": "j", "iat": 1})
    assert refused.value.code is ErrorCode.JWK_INVALID  # no private key to sign with

    pinned: JWSSessionConfig[Any] = JWSSessionConfig(key=remote.verify_only_key("PS256"), alg="PS256")
    assert pinned.codec.read_algs == frozenset({"PS256"})
    with pytest.raises(ConfigurationError):
        remote.verify_only_key("HS256")


def _lookup(remote: RemoteJWKSet, header: dict[str, Any], **config: Any) -> SessionError:
    verify_only: JWSSessionConfig[Any] = JWSSessionConfig(
        key=remote.verify_only_key(config.get("alg")), **config
    )
    event = HookEvent(connection=None, config=verify_only, header=header)
    with pytest.raises(SessionError) as refused:
        asyncio.run(remote.key_lookup(event))
    return refused.value


@pytest.mark.parametrize(
    ("header", "config", "code"),
    [
        ({"alg": "HS256", "kid": "a"}, {}, ErrorCode.JWS_ALG_NOT_ALLOWED),
        ({"alg": "none"}, {}, ErrorCode.JWS_ALG_NOT_ALLOWED),
        ({"kid": "a"}, {}, ErrorCode.JWS_ALG_NOT_ALLOWED),
        ({"alg": ["ES256"]}, {}, ErrorCode.JWS_ALG_NOT_ALLOWED),
        ({"alg": "ES256", "kid": "a"}, {"alg": "RS256"}, ErrorCode.JWS_ALG_NOT_ALLOWED),  # the pin
        ({"alg": "ES256", "kid": 7}, {}, ErrorCode.JWS_INVALID),
        ({"alg": "ES256", "kid": "a"}, {}, ErrorCode.JWKS_UNAVAILABLE),  # reaches the network
    ],
)
def test_what_is_decided_before_any_fetch(
    header: dict[str, Any], config: dict[str, Any], code: ErrorCode
) -> None:
    assert _lookup(RemoteJWKSet(NOWHERE), header, **config).code is code


def test_a_failed_fetch_is_not_retried_before_the_interval() -> None:
    clock_now = [0.0]
    remote = RemoteJWKSet(NOWHERE, clock=lambda: clock_now[0], refetch_interval="30s")
    header = {"alg": "ES256", "kid": "a"}
    first = _lookup(remote, header)
    again = _lookup(remote, header)
    assert first.code is again.code is ErrorCode.JWKS_UNAVAILABLE
    assert "not retried" not in first.message
    assert f"(from {NOWHERE})" in first.message  # which issuer, for whoever reads the logs
    assert "not retried" in again.message
    clock_now[0] = 30.0
    assert "not retried" not in _lookup(remote, header).message  # a new attempt


@pytest.mark.parametrize(
    ("cache_control", "age", "lifetime"),
    [
        ("public, max-age=120", None, 120),
        ('max-age="120"', None, 120),
        ("MAX-AGE=120, must-revalidate", None, 120),
        ("max-age=120", "20", 100),
        ("max-age=120", "200", 30),  # already stale: the floor
        ("max-age=99999999", None, 3600),
        ("no-cache, max-age=600", None, 30),
        ("private, no-store", None, 30),
        ("max-age=-5", None, 300),  # unreadable: the default
        ("max-age=1e3", None, 300),
        ("max-age=" + "9" * 5000, None, 300),  # not converted
        ("max-age=١٢٠", None, 300),  # digits, but not ASCII ones
        ("s-maxage=60", None, 300),  # for shared caches, not for us
        (None, None, 300),
        ("", None, 300),
    ],
)
def test_cache_lifetime(cache_control: str | None, age: str | None, lifetime: int) -> None:
    fetched = Fetched(b"{}", cache_control, age)
    assert cache_lifetime(fetched, default=300, floor=30, ceiling=3600) == lifetime


def test_algorithms_given_as_one_string() -> None:
    assert RemoteJWKSet(NOWHERE, algorithms="EdDSA").algorithms == frozenset({"EdDSA"})


def test_a_jwe_config_is_refused() -> None:
    """The published keys verify signatures; they never decrypt (nor could they)."""
    config: JWESessionConfig[Any] = JWESessionConfig(key=generate_jwk("A256KW"))
    event = HookEvent(connection=None, config=config, header={"alg": "ES256", "kid": "a"})
    with pytest.raises(SessionError) as refused:
        asyncio.run(RemoteJWKSet(NOWHERE).key_lookup(event))
    assert refused.value.code is ErrorCode.KEY_LOOKUP_FAILED


def test_a_config_whose_key_is_the_remote_set_verifies_only() -> None:
    from litestar_jwtsession import jwks_route
    from litestar_jwtsession.session.key_source import KeySource

    remote = RemoteJWKSet("http://127.0.0.1:9/jwks.json")
    config: JWSSessionConfig[Any] = JWSSessionConfig(key=remote, name="access_token")
    assert isinstance(remote, KeySource)
    assert config.key_source is remote
    assert config.csrf_key == b""  # no secret to derive a CSRF secret from
    with pytest.raises(SessionError) as refused:
        config.encode_token({"sub": "ada", "jti": "j", "iat": 1})
    assert refused.value.code == "ERR_JWK_INVALID"  # nothing to sign with
    with pytest.raises(ValueError, match="key source"):
        jwks_route(config=config)
    with pytest.raises(ConfigurationError, match="csrf_secret"):
        JWSSessionConfig(key=remote, name="access_token", csrf=True)
