"""End-to-end tests of the scopes example (examples/scopes_api/app.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from examples.scopes_api import app as example
from litestar_jwtsession import KeyPair, generate_jwk
from litestar_jwtsession.testing import (
    IssuedSession,
    SessionClock,
    assert_session_cookies,
    drop_expired_cookies,
    log_in,
)
from tests.helpers import EPOCH, b64url_decode

if TYPE_CHECKING:
    from collections.abc import Iterator

BASE_URL = "https://testserver.local"
ROOT = Path(__file__).resolve().parents[2]
ACCESS_KEY = generate_jwk("ES256")
REFRESH_KEY = generate_jwk("A256KW")
assert isinstance(ACCESS_KEY, KeyPair)
assert isinstance(REFRESH_KEY, dict)

USERS = {"alice": ("read", "write"), "bob": ("read",), "carol": ("admin", "read", "write")}
ROUTES = {  # (method, path) -> the scope it needs (None: any valid session)
    ("GET", "/notes"): "read",
    ("POST", "/notes"): "write",
    ("GET", "/admin"): "admin",
    ("GET", "/me"): None,
}
SUCCESS = {("GET", "/notes"): 200, ("POST", "/notes"): 201, ("GET", "/admin"): 200, ("GET", "/me"): 200}


def build(clock: Any = time.time, **kwargs: Any) -> Litestar:
    return example.create_app(access_key=ACCESS_KEY, refresh_key=REFRESH_KEY, clock=clock, **kwargs)


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(build(), base_url=BASE_URL) as client:
        yield client


def login(client: TestClient[Any], user: str) -> httpx.Response:
    """Through the example's login route."""
    response = client.post("/login", json={"username": user, "password": f"{user}-password"})
    assert response.status_code == 200, response.text
    return response


def claims_of(user: str) -> example.AccessClaims:
    """The claims the login route issues for a demo user."""
    demo = example.DEMO_USERS[user]
    return example.AccessClaims(sub=demo.username, name=demo.name, scope=list(demo.scopes))


def log_in_as(client: TestClient[Any], user: str, *, refresh: bool = False) -> IssuedSession:
    """Without the login route: the access session (and the refresh one) of a demo user."""
    if refresh:
        log_in(client, claims_of(user), session="refresh_token")
    return log_in(client, claims_of(user))


def call(client: TestClient[Any], method: str, path: str) -> httpx.Response:
    body = {"json": {"text": "hello"}} if method == "POST" else {}
    return client.request(method, path, **body)  # type: ignore[arg-type]


def payload(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the 401/403/200 matrix


@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_anonymous_gets_401(client: TestClient[Any], method: str, path: str) -> None:
    response = call(client, method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize(("method", "path"), list(ROUTES))
def test_scope_matrix(client: TestClient[Any], user: str, method: str, path: str) -> None:
    log_in_as(client, user)
    needed = ROUTES[(method, path)]
    response = call(client, method, path)
    if needed is None or needed in USERS[user]:
        assert response.status_code == SUCCESS[(method, path)], response.text
        assert "www-authenticate" not in response.headers
    else:
        assert response.status_code == 403
        assert response.headers["www-authenticate"] == f'Bearer error="insufficient_scope", scope="{needed}"'


def test_bodies_use_typed_claims(client: TestClient[Any]) -> None:
    log_in_as(client, "alice")
    assert client.get("/me").json() == {"user": "alice", "name": "Alice", "scope": ["read", "write"]}
    assert client.post("/notes", json={"text": "first"}).json() == {
        "id": 1,
        "text": "first",
        "author": "Alice",
    }
    assert client.get("/notes").json() == {
        "reader": "Alice",
        "notes": [{"id": 1, "text": "first", "author": "Alice"}],
    }
    carol = log_in_as(client, "carol")
    body = client.get("/admin").json()
    assert body["admin"] == "Carol"
    assert body["note_count"] == 1
    assert body["session_id"] == payload(client.cookies["access_token"])["jti"] == carol.id


def test_apps_do_not_share_notes() -> None:
    with TestClient(build(), base_url=BASE_URL) as one, TestClient(build(), base_url=BASE_URL) as two:
        log_in_as(one, "alice")
        log_in_as(two, "alice")
        one.post("/notes", json={"text": "only here"})
        assert two.get("/notes").json()["notes"] == []


# --------------------------------------------------------------------------- login and logout


def test_login_issues_both_sessions(client: TestClient[Any]) -> None:
    response = login(client, "bob")
    cookies = assert_session_cookies(response, set={"access_token", "refresh_token"})
    access, access_attrs = cookies["access_token"].token or "", cookies["access_token"].attributes
    refresh, refresh_attrs = cookies["refresh_token"].token or "", cookies["refresh_token"].attributes
    assert access.count(".") == 2
    assert refresh.count(".") == 4
    claims = payload(access)
    assert {k: claims[k] for k in ("sub", "name", "scope")} == {
        "sub": "bob",
        "name": "Bob",
        "scope": ["read"],
    }
    assert claims["exp"] - claims["iat"] == 300
    assert json.loads(b64url_decode(access.split(".")[0]))["alg"] == "ES256"
    assert json.loads(b64url_decode(refresh.split(".")[0]))["alg"] == "A256KW"
    assert "httponly" not in access_attrs
    assert "httponly" in refresh_attrs
    assert response.json() == {"user": "bob", "scope": ["read"], "expires_at": claims["exp"] * 1000}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "mallory", "password": "mallory-password"},
        {"username": "alice", "password": "bob-password"},
    ],
)
def test_bad_credentials(client: TestClient[Any], body: dict[str, str]) -> None:
    response = client.post("/login", json=body)
    assert response.status_code == 401
    assert_session_cookies(response)  # none at all


def test_malformed_login_body(client: TestClient[Any]) -> None:
    assert client.post("/login", json={"username": "alice"}).status_code == 400


def test_logout_clears_both(client: TestClient[Any]) -> None:
    log_in_as(client, "alice", refresh=True)
    response = client.post("/logout")
    assert response.status_code == 204
    cookies = assert_session_cookies(response, cleared={"access_token", "refresh_token"})
    for cookie in cookies.values():
        assert cookie.value == ""
        assert cookie.attributes["max-age"] == "0"
        assert cookie.attributes["expires"] == EPOCH
    response = client.get("/notes")
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")


# --------------------------------------------------------------------------- refresh


def test_expired_access_is_refreshed_with_the_same_scopes(session_clock: SessionClock) -> None:
    with TestClient(build(clock=session_clock, access_max_age=60), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)  # as a browser does at the cookie's Expires
        first = log_in_as(client, "bob", refresh=True).token
        session_clock.advance(61)
        assert "access_token" not in client.cookies
        response = client.get("/notes")
        assert response.status_code == 200
        token = assert_session_cookies(response, set={"access_token"})["access_token"].token or ""
        assert token != first
        claims = payload(token)
        assert claims["scope"] == ["read"]
        assert claims["name"] == "Bob"
        assert claims["exp"] == int(session_clock.now) + 60
        # still bob's scopes: writing stays forbidden
        assert client.post("/notes", json={"text": "x"}).status_code == 403


def test_expired_refresh_means_logging_in_again() -> None:
    clock = SessionClock(time.time() + 30 * 86400)  # cookie dates stay in the future for the jar
    with TestClient(build(clock=clock), base_url=BASE_URL) as client:
        log_in_as(client, "alice", refresh=True)
        client.cookies.delete("access_token")
        clock.advance(8 * 86400)
        # a client that still sends the lapsed refresh cookie: it is expired in the answer
        response = client.get("/notes")
        assert response.status_code == 401
        assert_session_cookies(response, cleared={"refresh_token"})


def test_user_removed_after_login_gets_401(monkeypatch: pytest.MonkeyPatch, client: TestClient[Any]) -> None:
    log_in_as(client, "bob")
    monkeypatch.delitem(example.DEMO_USERS, "bob")
    assert client.get("/me").status_code == 401


# --------------------------------------------------------------------------- OpenAPI and running


def test_openapi_documents_the_scopes(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {"access_token_cookie", "access_token_header", "refresh_token_cookie"} <= set(schemes)
    paths = schema["paths"]
    assert paths["/notes"]["get"]["security"] == [
        {"access_token_cookie": ["read"]},
        {"access_token_header": ["read"]},
    ]
    assert paths["/admin"]["get"]["security"][0] == {"access_token_cookie": ["admin"]}
    assert not paths["/login"]["post"].get("security")
    assert not paths["/logout"]["post"].get("security")


def test_module_level_app() -> None:
    assert isinstance(example.app, Litestar)
    with TestClient(example.app, base_url=BASE_URL) as client:
        assert client.get("/notes").status_code == 401
        login(client, "bob")
        assert client.get("/notes").status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runs_under_uvicorn() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "uvicorn", "examples.scopes_api.app:app", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/me", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        response = httpx.post(f"{base}/login", json={"username": "bob", "password": "bob-password"})
        assert response.status_code == 200
        token = assert_session_cookies(response, set={"access_token", "refresh_token"})["access_token"].token
        headers = {"x-access_token-session": f"Bearer {token}"}
        assert httpx.get(f"{base}/notes", headers=headers).status_code == 200
        assert httpx.get(f"{base}/admin", headers=headers).status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
