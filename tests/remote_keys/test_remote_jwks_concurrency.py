"""RemoteJWKSet under concurrent requests, with the verifying app on uvicorn too: a fetch never
blocks the event loop, and concurrent requests share one fetch."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from litestar_jwtsession import JWSSessionConfig, RemoteJWKSet, generate_jwk
from tests.remote_keys.conftest import bearer
from tests.remote_keys.servers import JWKS_PATH, Verifier, serving

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.helpers import FakeClock
    from tests.remote_keys.servers import Issuer, ServerThread

WAIT = 30.0


def wait_until(condition: Callable[[], bool]) -> None:
    """Wait for something the test set in motion (not a timed assertion: only a hang fails)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the awaited condition never came true")
        time.sleep(0.01)


def test_requests_waiting_for_a_hanging_issuer_share_one_fetch_and_block_nothing(
    issuer: Issuer, issuer_server: ServerThread, login: Callable[..., str]
) -> None:
    remote = RemoteJWKSet(issuer_server.base_url + "/hang/jwks.json", timeout=60)
    verifier = Verifier(remote)
    token = login()
    with serving(verifier.app) as app_server, ThreadPoolExecutor(max_workers=6) as pool:
        me = f"{app_server.base_url}/me"
        waiting = [pool.submit(httpx.get, me, headers=bearer(token), timeout=WAIT) for _ in range(6)]
        wait_until(lambda: issuer.requests["/hang/jwks.json"] == 1)

        # the verifier's event loop answers other requests while the fetch is held
        for _ in range(3):
            assert httpx.get(f"{app_server.base_url}/ping", timeout=WAIT).json() == {"pong": True}
        assert not any(future.done() for future in waiting)

        issuer.gate.release()
        statuses = [future.result().status_code for future in waiting]

    assert statuses == [200] * 6
    assert issuer.requests["/hang/jwks.json"] == 1  # six requests, one fetch
    assert verifier.errors == []


def test_concurrent_unknown_kids_cause_one_refetch(
    issuer: Issuer, issuer_server: ServerThread, login: Callable[..., str], clock: FakeClock
) -> None:
    remote = RemoteJWKSet(issuer_server.base_url + JWKS_PATH, clock=clock, refetch_interval="30s")
    verifier = Verifier(remote)

    def forged() -> str:
        signer: JWSSessionConfig[Any] = JWSSessionConfig(key=generate_jwk("ES256", kid=str(uuid.uuid4())))
        return signer.encode_token({"jti": "j", "iat": 1})

    tokens = [forged() for _ in range(24)]
    with serving(verifier.app) as app_server, ThreadPoolExecutor(max_workers=8) as pool:
        me = f"{app_server.base_url}/me"
        assert httpx.get(me, headers=bearer(login()), timeout=WAIT).status_code == 200
        clock.now += 30

        responses = list(pool.map(lambda token: httpx.get(me, headers=bearer(token), timeout=WAIT), tokens))

        assert httpx.get(me, headers=bearer(login()), timeout=WAIT).status_code == 200
    assert [response.status_code for response in responses] == [401] * 24
    assert issuer.requests[JWKS_PATH] == 2  # the first fetch and one refetch
    assert verifier.errors == ["ERR_JWKS_NO_MATCHING_KEY"] * 24
