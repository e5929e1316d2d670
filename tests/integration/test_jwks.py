"""``public_jwk_set`` and ``jwks_route``: publish public signature keys, never a secret."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from litestar import Litestar, get
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWK,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    generate_jwk,
    jwks_route,
    public_jwk_set,
    requires_session,
)

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def pair(alg: str, kid: str | None = None) -> KeyPair:
    key = generate_jwk(alg, kid=kid)
    assert isinstance(key, KeyPair)
    return key


def oct_key(alg: str = "HS256") -> JWK:
    key = generate_jwk(alg)
    assert isinstance(key, dict)
    return key


def claims() -> dict[str, Any]:
    now = int(time.time())
    return {"jti": "j", "iat": now, "exp": now + 60, "sub": "ada"}


def assert_public(key_set: dict[str, list[JWK]]) -> None:
    assert set(key_set) == {"keys"}
    for jwk in key_set["keys"]:
        assert not PRIVATE_MEMBERS & set(jwk), jwk


# --------------------------------------------------------------------------- public_jwk_set


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "Ed25519"])
def test_key_pair_publishes_its_public_key(alg: str) -> None:
    keys = pair(alg, kid="k1")

    key_set = public_jwk_set(keys)

    assert key_set == {"keys": [keys.public_key]}
    assert_public(key_set)


def test_private_members_are_stripped_from_a_private_jwk() -> None:
    private = pair("RS256", kid="r1").private_key
    assert private is not None
    assert {"d", "p", "q", "dp", "dq", "qi"} <= set(private)
    noisy = {**private, "key_ops": ["sign"], "x5u": "https://example.test/cert", "secret_note": "s3cret"}

    key_set = public_jwk_set([noisy])

    (published,) = key_set["keys"]
    assert set(published) == {"kty", "alg", "kid", "n", "e"}  # an allow-list, not a deny-list
    assert published["n"] == private["n"]


def test_private_key_without_public_key_publishes_its_public_half() -> None:
    full = pair("ES256", kid="e1")

    key_set = public_jwk_set(KeyPair(private_key=full.private_key))

    assert key_set == {"keys": [full.public_key]}


@pytest.mark.parametrize("alg", ["HS256", "HS512", "A256KW", "A256GCM"])
def test_oct_keys_are_refused_and_the_secret_is_not_echoed(alg: str) -> None:
    secret = oct_key(alg)

    with pytest.raises(ValueError, match="symmetric") as caught:
        public_jwk_set(secret)

    assert secret["k"] not in str(caught.value)


def test_oct_key_inside_a_jwk_set_is_refused() -> None:
    # joserfc's KeySet.as_dict() would publish this secret: the whole set must be refused
    mixed = {"keys": [pair("ES256").public_key, oct_key()]}

    with pytest.raises(ValueError, match="symmetric"):
        public_jwk_set(mixed)


def test_hs256_session_config_is_refused() -> None:
    config = JWSSessionConfig(key=oct_key())

    with pytest.raises(ValueError, match="symmetric"):
        public_jwk_set(config=config)


def test_jwe_session_config_is_refused() -> None:
    config = JWESessionConfig(key=pair("RSA-OAEP-256"))

    with pytest.raises(ValueError, match="JWE"):
        public_jwk_set(config=config)


@pytest.mark.parametrize("alg", ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A256KW"])
def test_encryption_keys_are_refused(alg: str) -> None:
    with pytest.raises(ValueError, match="encryption key"):
        public_jwk_set(pair(alg))


def test_use_enc_is_refused() -> None:
    public = pair("ES256").public_key
    assert isinstance(public, dict)

    with pytest.raises(ValueError, match="encryption key"):
        public_jwk_set({**public, "use": "enc"})


def test_rotation_set_of_the_config_is_published() -> None:
    current, previous = pair("ES256", kid="new"), pair("ES256", kid="old")
    config = JWSSessionConfig(
        key=KeyPair(
            private_key=current.private_key, public_key={"keys": [current.public_key, previous.public_key]}
        )
    )

    key_set = public_jwk_set(config=config)

    assert [jwk["kid"] for jwk in key_set["keys"]] == ["new", "old"]
    assert_public(key_set)


def test_keys_and_configs_are_merged_and_deduplicated() -> None:
    access, other = pair("ES256", kid="a"), pair("EdDSA", kid="b")
    config = JWSSessionConfig(key=access)

    key_set = public_jwk_set([access, access.public_key, other], config=[config])  # type: ignore[list-item]

    assert [jwk["kid"] for jwk in key_set["keys"]] == ["a", "b"]


def test_two_keys_with_one_kid_are_refused() -> None:
    with pytest.raises(ValueError, match="share the kid"):
        public_jwk_set([pair("ES256", kid="same"), pair("ES256", kid="same")])


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, id="not-on-curve"),
        pytest.param({"kty": "XYZ"}, id="unknown-kty"),
        pytest.param({"keys": "nope"}, id="keys-not-a-list"),
        pytest.param(["not a dict"], id="list-of-str"),
    ],
)
def test_malformed_keys_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        public_jwk_set(bad)


def test_no_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="no key"):
        public_jwk_set()
    with pytest.raises(ValueError, match="no key"):
        public_jwk_set([])


# --------------------------------------------------------------------------- jwks_route


def test_route_serves_the_set_and_an_outside_verifier_accepts_access_tokens() -> None:
    access = JWSSessionConfig(key=pair("ES256", kid="e1"), name="access_token")
    app = Litestar(route_handlers=[jwks_route(config=access)], plugins=[JWTSessionPlugin(access=access)])

    with TestClient(app, base_url="https://testserver.local") as client:
        response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers.get_list("set-cookie") == []
    key_set = response.json()
    assert_public(key_set)
    # another service: only the published set, joserfc's own verifier
    token = access.encode_token(claims())
    verified = jws.deserialize_compact(token, KeySet.import_key_set(key_set), algorithms=["ES256"])
    assert json.loads(verified.payload)["sub"] == "ada"


def test_route_is_public_under_an_app_wide_session_guard() -> None:
    access = JWSSessionConfig(key=pair("RS256"), name="access_token")

    @get("/private")
    async def private() -> str:
        return "secret"

    app = Litestar(
        route_handlers=[private, jwks_route("/keys", config=access, cache_max_age=0)],
        guards=[requires_session()],
        plugins=[JWTSessionPlugin(access=access)],
    )

    with TestClient(app, base_url="https://testserver.local") as client:
        assert client.get("/private").status_code == 401
        response = client.get("/keys")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == public_jwk_set(config=access)


def test_route_without_the_plugin() -> None:
    keys = pair("EdDSA", kid="ed")
    app = Litestar(route_handlers=[jwks_route(keys=[keys])])

    with TestClient(app) as client:
        assert client.get("/.well-known/jwks.json").json() == {"keys": [keys.public_key]}


def test_route_refuses_secrets_at_startup_not_at_request_time() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        jwks_route(keys=[oct_key()])
    with pytest.raises(ValueError, match="symmetric"):
        jwks_route(config=JWSSessionConfig(key=oct_key()))


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_route_rejects_a_bad_cache_max_age(value: Any) -> None:
    with pytest.raises(ValueError, match="cache_max_age"):
        jwks_route(keys=pair("ES256"), cache_max_age=value)


def test_route_is_in_the_openapi_schema_unless_hidden() -> None:
    keys = pair("ES256")
    shown = Litestar(route_handlers=[jwks_route(keys=keys)])
    hidden = Litestar(route_handlers=[jwks_route(keys=keys, include_in_schema=False)])

    assert "/.well-known/jwks.json" in shown.openapi_schema.paths  # type: ignore[operator]
    assert "/.well-known/jwks.json" not in (hidden.openapi_schema.paths or {})
