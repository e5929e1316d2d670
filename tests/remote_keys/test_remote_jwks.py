"""RemoteJWKSet against a real issuer: a Litestar app on uvicorn publishing its keys with
``jwks_route``. Fetches are counted where they arrive (the issuer's server); the cache clock is
moved by hand, never slept on."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from litestar_jwtsession import JWSSessionConfig, KeyPair, RemoteJWKSet, generate_jwk
from tests.remote_keys.conftest import bearer
from tests.remote_keys.servers import JWKS_PATH, key_pair

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.testing import TestClient

    from tests.helpers import FakeClock
    from tests.remote_keys.servers import Issuer, Verifier

    Verify = Callable[[RemoteJWKSet], tuple[Verifier, TestClient[Any]]]


def forged(alg: str = "ES256", *, kid: str | None = None, sub: str = "mallory") -> str:
    """A well-formed access token signed by a key the issuer never published."""
    key = generate_jwk(alg, kid=kid or str(uuid.uuid4()))
    config: JWSSessionConfig[Any] = JWSSessionConfig(key=key, name="access_token")
    return config.encode_token({"jti": str(uuid.uuid4()), "iat": 1_750_000_000, "sub": sub})


def assert_anonymous(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


# --------------------------------------------------------------------------- verifying


def test_issuer_token_verifies_over_http_and_the_set_is_cached(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], login: Callable[..., str], verify: Verify
) -> None:
    verifier, client = verify(remote_for())
    token = login("ada", scope=["read"])

    response = client.get("/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["sub"] == "ada"
    assert response.json()["scope"] == ["read"]
    assert issuer.requests[JWKS_PATH] == 1
    for _ in range(5):
        assert client.get("/me", headers=bearer(login("bob"))).status_code == 200
    assert issuer.requests[JWKS_PATH] == 1  # every later token used the cached set
    assert verifier.errors == []


def test_forged_signature_with_a_published_kid_is_refused(
    remote_for: Callable[..., RemoteJWKSet], verify: Verify
) -> None:
    verifier, client = verify(remote_for())

    response = client.get("/me", headers=bearer(forged(kid="issuer-1")))

    assert_anonymous(response)
    assert verifier.errors == ["ERR_JWS_SIGNATURE_VERIFICATION_FAILED"]


def test_issuer_key_rotation_is_picked_up_with_one_refetch(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
) -> None:
    verifier, client = verify(remote_for(refetch_interval="30s"))
    before = login("ada")
    assert client.get("/me", headers=bearer(before)).status_code == 200
    assert issuer.requests[JWKS_PATH] == 1

    clock.now += 30  # the set is still fresh (max-age=3600), the refetch interval has passed
    issuer.rotate()  # a new signing key, kid issuer-2; issuer-1 stays published
    after = login("ada")
    assert client.get("/me", headers=bearer(after)).status_code == 200
    assert issuer.requests[JWKS_PATH] == 2  # the unknown kid caused exactly one refetch

    assert client.get("/me", headers=bearer(before)).status_code == 200  # the old key still verifies
    assert client.get("/me", headers=bearer(login("bob"))).status_code == 200
    assert issuer.requests[JWKS_PATH] == 2
    assert verifier.errors == []


def test_random_kids_cause_at_most_one_fetch_per_interval(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
) -> None:
    verifier, client = verify(remote_for(refetch_interval="30s"))
    assert client.get("/me", headers=bearer(login())).status_code == 200
    assert issuer.requests[JWKS_PATH] == 1
    for _ in range(5):  # within the interval of the first fetch: no refetch at all
        assert_anonymous(client.get("/me", headers=bearer(forged())))
    assert issuer.requests[JWKS_PATH] == 1

    clock.now += 30
    for _ in range(20):
        assert_anonymous(client.get("/me", headers=bearer(forged())))
    assert issuer.requests[JWKS_PATH] == 2  # one refetch for the first unknown kid, none after
    assert verifier.errors == ["ERR_JWKS_NO_MATCHING_KEY"] * 25

    clock.now += 29
    assert_anonymous(client.get("/me", headers=bearer(forged())))
    assert issuer.requests[JWKS_PATH] == 2
    clock.now += 1  # the interval has passed since the refetch
    for _ in range(5):
        assert_anonymous(client.get("/me", headers=bearer(forged())))
    assert issuer.requests[JWKS_PATH] == 3
    assert client.get("/me", headers=bearer(login())).status_code == 200  # genuine tokens unaffected


def test_rotation_within_the_interval_is_accepted_after_it(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
) -> None:
    """The price of the interval: a rotation right after a refetch waits for the next one."""
    verifier, client = verify(remote_for(refetch_interval="30s"))
    assert client.get("/me", headers=bearer(login())).status_code == 200
    clock.now += 30
    assert_anonymous(client.get("/me", headers=bearer(forged())))  # spends the refetch
    issuer.rotate()
    token = login()

    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert issuer.requests[JWKS_PATH] == 2
    clock.now += 30
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[JWKS_PATH] == 3
    assert verifier.errors == ["ERR_JWKS_NO_MATCHING_KEY"] * 2


@pytest.mark.parametrize(
    ("token_alg", "allowed"),
    [("RS256", ("ES256",)), ("ES384", ("ES256", "EdDSA")), ("EdDSA", ("ES256",))],
)
def test_a_token_with_an_algorithm_not_allowed_causes_no_fetch(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    verify: Verify,
    token_alg: str,
    allowed: tuple[str, ...],
) -> None:
    verifier, client = verify(remote_for(algorithms=allowed))

    for _ in range(3):
        assert_anonymous(client.get("/me", headers=bearer(forged(token_alg))))

    assert issuer.fetches == 0
    assert verifier.errors == ["ERR_JWS_ALG_NOT_ALLOWED"] * 3


def test_an_hs256_token_is_refused_without_a_fetch(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], verify: Verify
) -> None:
    """Algorithm confusion: an HMAC token signed with a published public key as the secret."""
    verifier, client = verify(remote_for())
    secret = generate_jwk("HS256", kid="issuer-1")
    token = JWSSessionConfig(key=secret, name="access_token").encode_token({"jti": "j", "iat": 1})

    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert issuer.fetches == 0
    assert verifier.errors == ["ERR_JWS_ALG_NOT_ALLOWED"]


# --------------------------------------------------------------------------- Cache-Control


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("public, max-age=120", 120),  # honoured as it is
        ("max-age=120", 120),
        ("public, max-age=86400", 600),  # the ceiling
        ("no-store", 30),  # the floor
        ("max-age=0", 30),
        (None, 300),  # no max-age: the default
        ("max-age=200", 150),  # with "Age: 50", what is left of it
    ],
)
def test_cache_control_decides_when_the_set_is_fetched_again(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
    cache_control: str | None,
    lifetime: int,
) -> None:
    headers = {} if cache_control is None else {"cache-control": cache_control}
    if cache_control == "max-age=200":
        headers["age"] = "50"
    path = issuer.serve_raw("set", {"keys": [issuer.signing.public_key]}, headers)
    remote = remote_for(
        path, cache_default="5m", cache_floor="30s", cache_ceiling="10m", refetch_interval="10s"
    )
    verifier, client = verify(remote)
    token = login()

    assert client.get("/me", headers=bearer(token)).status_code == 200
    clock.now += lifetime - 1
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[path] == 1  # still fresh
    clock.now += 1
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[path] == 2  # expired: fetched again, once
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[path] == 2
    assert verifier.errors == []


def test_jwks_route_max_age_is_honoured(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
) -> None:
    issuer.cache_max_age = 90
    issuer.rotate()  # rebuilds the issuer app: its jwks_route now sends max-age=90
    _, client = verify(remote_for())
    token = login()

    assert client.get("/me", headers=bearer(token)).status_code == 200
    clock.now += 89
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[JWKS_PATH] == 1
    clock.now += 1
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests[JWKS_PATH] == 2


# --------------------------------------------------------------------------- sets of other shapes


def test_a_mixed_set_keeps_the_usable_keys(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], login: Callable[..., str], verify: Verify
) -> None:
    """A set as Node services publish them: WebCrypto members (``key_ops``, ``ext``), an
    encryption key beside the signing key, a key type this verifier does not know."""
    signing = {**issuer.signing.public_key, "key_ops": ["verify"], "ext": True, "use": "sig"}
    encryption = key_pair("RSA-OAEP-256", "enc-1").public_key
    exchange = {**key_pair("ECDH-ES", "ecdh-1").public_key, "key_ops": []}
    unknown = {"kty": "AKP", "kid": "pq-1", "alg": "ML-DSA-44", "pub": "AAAA"}
    path = issuer.serve_raw("mixed", {"keys": [encryption, exchange, unknown, signing]})
    verifier, client = verify(remote_for(path))

    assert client.get("/me", headers=bearer(login())).status_code == 200
    assert verifier.errors == []


def test_a_key_without_kid_verifies_a_token_without_kid(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], verify: Verify
) -> None:
    pair = key_pair("RS256", "unused")
    assert isinstance(pair.private_key, dict)
    assert isinstance(pair.public_key, dict)
    private = {name: value for name, value in pair.private_key.items() if name != "kid"}
    public = {name: value for name, value in pair.public_key.items() if name not in ("kid", "alg")}
    path = issuer.serve_raw("nokid", {"keys": [public]})
    signer: JWSSessionConfig[Any] = JWSSessionConfig(key=KeyPair(private_key=private), name="x")
    token = signer.encode_token({"jti": "j", "iat": 1_750_000_000, "sub": "ada"})
    _, client = verify(remote_for(path, algorithms=["RS256"]))

    response = client.get("/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["sub"] == "ada"
