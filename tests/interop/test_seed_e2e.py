"""End to end: the seed program on Node (unjwt's playground) and ours on uvicorn share one jar.

Both servers use the same keys and names: an RS256 JWS ``access_token`` and a password (PBES2,
600000 iterations) JWE ``refresh_token``. The access lifetime is shortened to 3 seconds on both
sides so that the test can let it expire: the user logs in on one server, is recognised by the
other, and after the access token expired the *other* server re-issues the replayed token from
the refresh session, which the first server then accepts. Logging out on ours is honoured by Node.

Our app is ``examples.seed.app.create_app`` with only the access ``max_age`` changed (its
``session_configs`` is wrapped while the app is built).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from litestar_jwtsession import KeyPair, generate_jwk
from tests.interop._support import Jar

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar import Litestar

    from tests.interop.conftest import NodeEnv

pytestmark = pytest.mark.interop

ACCESS_MAX_AGE = 3
PASSWORD = secrets.token_urlsafe(24)
CREDENTIALS = {"username": "alice", "password": "secret"}
EXPECTED_DATA = {"sub": "alice", "scope": ["read:profile"]}


@pytest.fixture(scope="module")
def access_key() -> KeyPair:
    key = generate_jwk("RS256")
    assert isinstance(key, KeyPair)
    return key


def seed_app(access_key: KeyPair, *, password: str, access_max_age: int) -> Litestar:
    """``examples/seed`` with these keys and a short access lifetime (as the seed's ``create_app``
    builds it otherwise)."""
    import examples.seed.app as seed

    original = seed.session_configs

    def short_access(*args: Any, **kwargs: Any) -> Any:
        access, refresh = original(*args, **kwargs)
        return dataclasses.replace(access, max_age=access_max_age), refresh

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seed, "session_configs", short_access)
        return seed.create_app(access_key=access_key, refresh_password=password, pbes2_iterations=600_000)


class ThreadedUvicorn:
    """uvicorn serving an app on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: Litestar) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ThreadedUvicorn:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start", pytrace=False)
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@dataclasses.dataclass
class Server:
    label: str
    client: httpx.Client

    def post(self, path: str, jar: Jar, body: Any = None, *, replay_expired: bool = False) -> httpx.Response:
        """A request carrying the jar's cookies (a browser drops expired ones; ``replay_expired``
        sends them anyway, as a client replaying its last cookies does)."""
        self.client.cookies.clear()
        headers = {"cookie": jar.header(drop_expired=not replay_expired)}
        response = self.client.post(path, headers=headers, json=body)
        jar.apply(response.headers.get_list("set-cookie"))
        return response


@pytest.fixture(scope="module")
def servers(node_env: NodeEnv, access_key: KeyPair) -> Iterator[dict[str, Server]]:
    node = node_env.start(
        "seed-server.mjs",
        {
            "SEED_ACCESS_KEY": json.dumps(
                {"privateKey": access_key.private_key, "publicKey": access_key.public_key}
            ),
            "SEED_REFRESH_PASSWORD": PASSWORD,
            "SEED_ACCESS_MAX_AGE": str(ACCESS_MAX_AGE),
        },
    )
    try:
        with (
            ThreadedUvicorn(seed_app(access_key, password=PASSWORD, access_max_age=ACCESS_MAX_AGE)) as ours,
            httpx.Client(base_url=node.base_url, timeout=30) as node_client,
            httpx.Client(base_url=f"http://127.0.0.1:{ours.port}", timeout=30) as py_client,
        ):
            yield {"node": Server("node", node_client), "py": Server("py", py_client)}
    finally:
        node.stop()


def _state(response: httpx.Response, which: str) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.text)
    return dict(response.json()[which])


def _wait_until_expired(expires_at_ms: int) -> None:
    # a token is expired once exp <= now (rounded); wait a little past it for both sides
    delay = expires_at_ms / 1000 + 0.3 - time.time()
    if delay > 0:
        time.sleep(delay)


@pytest.mark.parametrize(
    ("login_on", "refresh_on"),
    [
        pytest.param("node", "py", id="login-node-refresh-py-on-expire"),
        pytest.param("py", "node", id="login-py-refresh-node-on-expire"),
    ],
)
def test_login_expire_refresh(login_on: str, refresh_on: str, servers: dict[str, Server]) -> None:
    first, other = servers[login_on], servers[refresh_on]
    jar = Jar()

    login = first.post("/login", jar, CREDENTIALS)
    access, refresh = _state(login, "accessToken"), _state(login, "refreshSession")
    assert access["data"] == EXPECTED_DATA
    assert refresh["data"] == EXPECTED_DATA
    assert access["expiresAt"] == access["createdAt"] + ACCESS_MAX_AGE * 1000
    assert sorted(jar.cookies) == ["access_token", "refresh_token"]

    # the other server recognises both sessions: the same ids, times and data
    again = other.post("/login", jar)
    assert again.status_code == 200
    assert _state(again, "accessToken") == access
    assert _state(again, "refreshSession") == refresh
    assert again.headers.get_list("set-cookie") == []
    profile = servers["py"].client.get("/profile", headers={"cookie": jar.header()})
    assert profile.status_code == 200
    assert profile.json() == {"userId": "alice", "scope": ["read:profile"]}

    _wait_until_expired(access["expiresAt"])

    # the other server's on_expire hook re-issues the replayed access session from the refresh
    # session (a client that dropped the lapsed cookie logs in again on both: test_seed_parity.py)
    refreshed = other.post("/login", jar, replay_expired=True)
    new_access = _state(refreshed, "accessToken")
    assert new_access["id"] != access["id"]
    assert new_access["data"] == EXPECTED_DATA
    assert new_access["createdAt"] >= access["expiresAt"] - 1000
    assert new_access["expiresAt"] == new_access["createdAt"] + ACCESS_MAX_AGE * 1000
    assert _state(refreshed, "refreshSession") == refresh
    assert [name for name in jar.cookies if name == "access_token"] == ["access_token"]

    # ...and the first server accepts the re-issued token as its own
    back = first.post("/login", jar)
    assert back.status_code == 200
    assert _state(back, "accessToken") == new_access
    assert _state(back, "refreshSession") == refresh

    # logging out on ours is honoured by Node: no session left, credentials needed again
    logout = servers["py"].post("/logout", jar)
    assert logout.status_code == 200
    assert jar.names("access_token") == jar.names("refresh_token") == []
    denied = servers["node"].post("/login", jar, replay_expired=True)
    assert denied.status_code == 400
