"""Fixtures of the remote JWK Set tests: a real issuer on uvicorn, a controllable cache clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from litestar.testing import TestClient

from litestar_jwtsession import RemoteJWKSet
from tests.helpers import FakeClock
from tests.remote_keys.servers import JWKS_PATH, Issuer, ServerThread, Verifier

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

BASE_URL = "https://testserver.local"


@pytest.fixture
def clock() -> FakeClock:
    """The cache clock of every RemoteJWKSet of a test (monotonic seconds, moved by hand)."""
    return FakeClock(1000.0)


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def issuer_server(issuer: Issuer) -> Iterator[ServerThread]:
    server = ServerThread(issuer).start()
    yield server
    issuer.gate.release()  # a held request must end before uvicorn can shut down
    server.stop()


@pytest.fixture
def remote_for(issuer_server: ServerThread, clock: FakeClock) -> Callable[..., RemoteJWKSet]:
    """``remote_for(path=JWKS_PATH, **options)``: a RemoteJWKSet on the issuer's server."""

    def make(path: str = JWKS_PATH, **options: Any) -> RemoteJWKSet:
        options.setdefault("clock", clock)
        return RemoteJWKSet(issuer_server.base_url + path, **options)

    return make


@pytest.fixture
def login(issuer_server: ServerThread) -> Callable[..., str]:
    """``login(sub)``: an access token the issuer signs (through its own /login route)."""

    def issue(sub: str = "ada", **claims: Any) -> str:
        response = httpx.post(f"{issuer_server.base_url}/login", json={"sub": sub, **claims})
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        assert isinstance(token, str)
        return token

    return issue


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def verify() -> Iterator[Callable[[RemoteJWKSet], tuple[Verifier, TestClient[Any]]]]:
    """``verify(remote)``: a verifying app using ``remote`` and a TestClient on it."""
    clients: list[TestClient[Any]] = []

    def make(remote: RemoteJWKSet) -> tuple[Verifier, TestClient[Any]]:
        verifier = Verifier(remote)
        client = TestClient(verifier.app, base_url=BASE_URL)
        client.__enter__()
        clients.append(client)
        return verifier, client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
