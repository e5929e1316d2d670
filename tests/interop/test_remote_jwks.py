"""A Python service verifies the sessions of a Node service (unjwt's h3 v2 adapter) with the
public keys the Node service publishes: ``RemoteJWKSet`` against a JWK Set route of the Node
server, keys from unjwt's ``generateJWK`` (with their WebCrypto ``key_ops``/``ext`` members)
and tokens signed by unjwt."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from litestar_jwtsession import RemoteJWKSet
from tests.helpers import FakeClock
from tests.interop._support import Jar, SessionSpec, py_key_of
from tests.remote_keys.servers import Verifier

if TYPE_CHECKING:
    from tests.interop._support import NodeSide
    from tests.interop.conftest import NodeProcess

pytestmark = pytest.mark.interop


def node_token(node: NodeSide, spec: SessionSpec, data: dict[str, Any]) -> str:
    token = node.update(spec, Jar(), data).session["token"]
    assert isinstance(token, str)
    return token


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_python_verifies_node_sessions_with_the_published_keys(
    node: NodeSide, node_server: NodeProcess, make_spec: Any, alg: str
) -> None:
    spec = make_spec("jws", alg, "node", "remote")
    node.configure(spec)
    clock = FakeClock(0.0)
    remote = RemoteJWKSet(f"{node_server.base_url}/jwks/{spec.name}", clock=clock)
    verifier = Verifier(remote)
    with TestClient(verifier.app, base_url="https://testserver.local") as client:
        token = node_token(node, spec, {"sub": "ada", "scope": ["read"]})
        response = client.get("/me", headers={"authorization": f"Bearer {token}"})

        assert response.status_code == 200, verifier.messages
        assert response.json()["sub"] == "ada"
        assert response.json()["scope"] == ["read"]

        # the Node service rotates (a new unjwt key pair, published in place of the old one)
        fresh = node.post("/jose/generate", {"alg": alg})["key"]
        assert fresh["publicKey"]["kid"] != spec.node_key["publicKey"]["kid"]
        node.configure(SessionSpec("jws", spec.name, py_key_of(fresh), fresh))
        clock.now += 30  # past the refetch interval
        token = node_token(node, spec, {"sub": "bob"})
        response = client.get("/me", headers={"authorization": f"Bearer {token}"})

        assert response.status_code == 200, verifier.messages
        assert response.json()["sub"] == "bob"
    assert verifier.errors == []
