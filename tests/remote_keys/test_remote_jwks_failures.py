"""RemoteJWKSet when the issuer fails: down, hanging, answering errors, oversized or malformed
sets. Every case reads as anonymous (401, never 500) with a stable code reported to
``on_error``, and never makes more than one fetch per refetch interval."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from litestar_jwtsession import RemoteJWKSet
from tests.remote_keys.conftest import bearer
from tests.remote_keys.servers import JWKS_PATH, Issuer, ServerThread, closed_port, key_pair

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.testing import TestClient

    from tests.helpers import FakeClock
    from tests.remote_keys.servers import Verifier

    Verify = Callable[[RemoteJWKSet], tuple[Verifier, TestClient[Any]]]


def assert_anonymous(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


# --------------------------------------------------------------------------- the issuer is down


def test_issuer_refusing_connections_reads_as_anonymous(
    login: Callable[..., str], verify: Verify, clock: FakeClock
) -> None:
    remote = RemoteJWKSet(f"http://127.0.0.1:{closed_port()}{JWKS_PATH}", clock=clock)
    verifier, client = verify(remote)
    token = login()

    for _ in range(3):
        assert_anonymous(client.get("/me", headers=bearer(token)))
    assert client.get("/ping").status_code == 200  # the rest of the app is unaffected
    assert verifier.errors == ["ERR_JWKS_UNAVAILABLE"] * 3


def test_issuer_going_down_fails_closed_once_the_cache_expires(
    issuer: Issuer, verify: Verify, clock: FakeClock
) -> None:
    server = ServerThread(issuer).start()
    try:
        remote = RemoteJWKSet(server.base_url + JWKS_PATH, clock=clock, cache_ceiling="10m")
        verifier, client = verify(remote)
        response = httpx.post(f"{server.base_url}/login", json={"sub": "ada"})
        token = response.json()["token"]
        assert client.get("/me", headers=bearer(token)).status_code == 200
    finally:
        server.stop()  # the issuer is gone: connections are refused from now on

    clock.now += 599
    assert client.get("/me", headers=bearer(token)).status_code == 200  # the cached set still serves
    clock.now += 1
    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert_anonymous(client.get("/me", headers=bearer(token)))  # within the interval: no new attempt
    clock.now += 30
    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert verifier.errors == ["ERR_JWKS_UNAVAILABLE"] * 3
    assert issuer.requests[JWKS_PATH] == 1


def test_hanging_issuer_is_bounded_by_the_timeout(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    clock: FakeClock,
) -> None:
    verifier, client = verify(remote_for("/hang/jwks.json", timeout=0.5))
    token = login()

    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert_anonymous(client.get("/me", headers=bearer(token)))  # fails fast: no second wait
    assert verifier.errors == ["ERR_JWKS_TIMEOUT"] * 2
    assert issuer.requests["/hang/jwks.json"] == 1

    issuer.gate.release()  # the issuer recovers
    clock.now += 30
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert issuer.requests["/hang/jwks.json"] == 2


@pytest.mark.parametrize("status", [404, 500, 503, 302])
def test_an_issuer_answering_an_error_status_reads_as_anonymous(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    status: int,
) -> None:
    """Redirects are not followed either (``https`` must not become ``http`` on the way)."""
    verifier, client = verify(remote_for(f"/status/{status}"))

    assert_anonymous(client.get("/me", headers=bearer(login())))
    assert verifier.errors == ["ERR_JWKS_UNAVAILABLE"]
    assert issuer.requests[f"/status/{status}"] == 1
    assert issuer.requests[JWKS_PATH] == 0


# --------------------------------------------------------------------------- oversized sets


def test_a_set_larger_than_the_limit_is_refused(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], login: Callable[..., str], verify: Verify
) -> None:
    padding = [{"kty": "EC", "kid": f"pad-{index}", "crv": "P-256", "x": "A" * 43} for index in range(40)]
    path = issuer.serve_raw("big", {"keys": [issuer.signing.public_key, *padding]})
    assert len(issuer.documents["big"][0]) > 4096
    verifier, client = verify(remote_for(path, max_bytes=4096))

    assert_anonymous(client.get("/me", headers=bearer(login())))
    assert verifier.errors == ["ERR_JWKS_INVALID"]
    assert "larger than 4096 bytes" in verifier.messages[0]


def test_an_endless_body_is_cut_at_the_limit(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], login: Callable[..., str], verify: Verify
) -> None:
    """No Content-Length, a body that never ends: reading stops at the limit (long before the
    timeout, which would report ``ERR_JWKS_TIMEOUT`` instead)."""
    verifier, client = verify(remote_for("/endless/jwks.json", max_bytes=65536, timeout=60))

    assert_anonymous(client.get("/me", headers=bearer(login())))
    assert verifier.errors == ["ERR_JWKS_INVALID"]
    assert "larger than 65536 bytes" in verifier.messages[0]
    # the server stopped once the verifier hung up: what it wrote is the limit plus socket
    # buffers, far below the 256 MiB it would send to a client reading on
    assert issuer.endless_bytes < 64 * 1024 * 1024


# --------------------------------------------------------------------------- malformed sets


def _public(alg: str) -> dict[str, Any]:
    key = key_pair(alg, f"{alg}-key").public_key
    assert isinstance(key, dict)
    return key


def _private(alg: str) -> dict[str, Any]:
    key = key_pair(alg, "issuer-1").private_key
    assert isinstance(key, dict)
    return key


def _nested(depth: int) -> bytes:
    return ('{"keys": [' + "[" * depth + "]" * depth + "]}").encode()


MALFORMED: dict[str, Callable[[Issuer], Any]] = {
    "not JSON": lambda issuer: b"<html>keys</html>",
    "truncated JSON": lambda issuer: issuer.public_set()[:-5],
    "a JSON array": lambda issuer: [issuer.signing.public_key],
    "keys not an array": lambda issuer: {"keys": issuer.signing.public_key},
    "no keys member": lambda issuer: {"jwks": [issuer.signing.public_key]},
    "an empty set": lambda issuer: {"keys": []},
    "a key that is not an object": lambda issuer: {"keys": [issuer.signing.public_key, "key"]},
    "a private key": lambda issuer: {"keys": [issuer.signing.private_key]},
    "a private key among public ones": lambda issuer: {
        "keys": [issuer.signing.public_key, _private("RS256")]
    },
    "an oct (HS256) key": lambda issuer: {
        "keys": [{"kty": "oct", "kid": "issuer-1", "alg": "HS256", "k": "c2VjcmV0"}]
    },
    "alg none": lambda issuer: {"keys": [{**issuer.signing.public_key, "alg": "none"}]},
    "only encryption keys": lambda issuer: {"keys": [_public("RSA-OAEP-256"), _public("ECDH-ES")]},
    "use enc": lambda issuer: {"keys": [{**issuer.signing.public_key, "use": "enc"}]},
    "key_ops without verify": lambda issuer: {
        "keys": [{**issuer.signing.public_key, "key_ops": ["encrypt"]}]
    },
    "a key of an algorithm not allowed": lambda issuer: {"keys": [_public("ES384")]},
    "broken key material": lambda issuer: {"keys": [{**issuer.signing.public_key, "x": "!!"}]},
    "a kid that is not a string": lambda issuer: {"keys": [{**issuer.signing.public_key, "kid": 1}]},
    "too many keys": lambda issuer: {"keys": [issuer.signing.public_key] * 65},
    "deep nesting": lambda issuer: _nested(10_000),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_set_is_refused(
    issuer: Issuer,
    remote_for: Callable[..., RemoteJWKSet],
    login: Callable[..., str],
    verify: Verify,
    name: str,
) -> None:
    path = issuer.serve_raw("bad", MALFORMED[name](issuer), {"cache-control": "max-age=600"})
    verifier, client = verify(remote_for(path, algorithms=["ES256", "RS256"]))
    token = login()  # signed by the issuer's ES256 key, kid issuer-1

    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert_anonymous(client.get("/me", headers=bearer(token)))
    assert verifier.errors == ["ERR_JWKS_INVALID"] * 2
    assert issuer.requests[path] == 1


def test_the_same_set_well_formed_verifies(
    issuer: Issuer, remote_for: Callable[..., RemoteJWKSet], login: Callable[..., str], verify: Verify
) -> None:
    """The control of the malformed cases: the raw route serving the right set works."""
    path = issuer.serve_raw("good", json.loads(issuer.public_set()), {"cache-control": "max-age=600"})
    verifier, client = verify(remote_for(path, algorithms=["ES256", "RS256"]))

    assert client.get("/me", headers=bearer(login())).status_code == 200
    assert verifier.errors == []
