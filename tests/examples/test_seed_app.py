"""End-to-end tests of the seed example (examples/seed/app.py) through Litestar's TestClient.

The answers asserted here are those of the seed's program (unjwt's h3 v2 playground): 200 for every
login, h3's error shape ``{"status", "message"}``, h3's cookie attributes (no ``SameSite``).
``tests/interop/test_seed_parity.py`` compares them with the original running on Node.
"""

from __future__ import annotations

import json
import logging
import stat
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from examples.seed import app as seed
from litestar_jwtsession import KeyPair, generate_jwk
from litestar_jwtsession.testing import SessionClock, assert_session_cookies, log_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import httpx

BASE_URL = "https://testserver.local"  # the session cookies are Secure
ACCESS = "access_token"
REFRESH = "refresh_token"
PASSWORD = "test refresh password"
CREDENTIALS = {"username": "alice", "password": "wonderland"}
ALICE = {"sub": "alice", "scope": ["read:profile"]}
PROFILE = {"userId": "alice", "scope": ["read:profile"]}
NEEDS_CREDENTIALS = {"status": 400, "message": "Username and password are required"}
NOT_AUTHENTICATED = {"status": 401, "message": "Not authenticated"}
KEY_ENV_VARS = (seed.ACCESS_PRIVATE_ENV, seed.ACCESS_PUBLIC_ENV, seed.REFRESH_PASSWORD_ENV, seed.DEV_KEYS_ENV)


def cookie_order(response: httpx.Response) -> list[str]:
    """The names of the response's Set-Cookie headers, in order (the original's order matters)."""
    return [header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")]


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEY_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def access_key() -> KeyPair:
    pair = generate_jwk("RS256")
    assert isinstance(pair, KeyPair)
    return pair


@pytest.fixture
def app(access_key: KeyPair, session_clock: SessionClock) -> Litestar:
    return seed.create_app(
        access_key=access_key, refresh_password=PASSWORD, pbes2_iterations=1000, clock=session_clock
    )


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


def login(client: TestClient[Litestar]) -> httpx.Response:
    """Through the example's login route."""
    response = client.post("/login", json=CREDENTIALS)
    assert response.status_code == 200, response.text  # as h3 answers; not 201
    return response


def test_login_creates_both_sessions(client: TestClient[Litestar], session_clock: SessionClock) -> None:
    response = login(client)

    body = response.json()
    assert set(body) == {"accessToken", "refreshSession"}
    access, refresh = body["accessToken"], body["refreshSession"]
    for session in (access, refresh):
        assert set(session) == {"id", "createdAt", "expiresAt", "data"}
        assert isinstance(session["id"], str)
        assert session["id"]
        assert session["data"] == ALICE
        assert session["createdAt"] == int(session_clock.now) * 1000
    assert access["id"] != refresh["id"]
    assert access["expiresAt"] == access["createdAt"] + 15 * 60 * 1000
    assert refresh["expiresAt"] == refresh["createdAt"] + 7 * 24 * 3600 * 1000

    cookies = assert_session_cookies(response, set=[ACCESS, REFRESH])  # set, not expired
    assert cookie_order(response) == [ACCESS, REFRESH]  # the original's order
    access_cookie, refresh_cookie = cookies[ACCESS], cookies[REFRESH]
    # The access token is a compact JWS, the refresh token a compact JWE.
    assert access_cookie.value.count(".") == 2
    assert refresh_cookie.value.count(".") == 4
    for cookie in (access_cookie, refresh_cookie):
        assert cookie.attributes.get("secure") is True
        assert cookie.attributes.get("path") == "/"
        assert isinstance(cookie.attributes.get("expires"), str)
        assert "samesite" not in cookie.attributes  # h3 writes none
        assert "max-age" not in cookie.attributes
    assert "httponly" not in access_cookie.attributes  # readable by the client
    assert refresh_cookie.attributes.get("httponly") is True


def test_logged_in_caller_reads_the_same_sessions(client: TestClient[Litestar]) -> None:
    first = login(client).json()

    again = client.post("/login")  # no body needed: the cookies identify the caller

    assert again.status_code == 200, again.text
    assert again.json() == first
    assert_session_cookies(again)  # nothing re-issued


def test_access_header_alone_is_enough(client: TestClient[Litestar]) -> None:
    token = log_in(client, ALICE).token
    client.cookies.clear()

    response = client.get("/profile", headers={f"x-{ACCESS}-session": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json() == PROFILE


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"username": "alice"}, id="no-password"),
        pytest.param({"password": "x"}, id="no-username"),
        pytest.param({"username": "", "password": "x"}, id="empty-username"),
    ],
)
def test_missing_credentials_are_rejected(client: TestClient[Litestar], body: dict[str, Any]) -> None:
    response = client.post("/login", json=body)

    assert response.status_code == 400
    assert response.json() == NEEDS_CREDENTIALS
    assert_session_cookies(response)


def test_no_body_is_rejected(client: TestClient[Litestar]) -> None:
    response = client.post("/login")

    assert response.status_code == 400
    assert response.json() == NEEDS_CREDENTIALS


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'["alice", "wonderland"]', id="array"),
        pytest.param(b'"alice"', id="string"),
        # the original answers 500 to null and signs in numbers and containers as the subject
        pytest.param(b"null", id="null"),
        pytest.param(b'{"username": 1, "password": 2}', id="numbers"),
        pytest.param(b'{"username": ["a"], "password": {}}', id="containers"),
        pytest.param(b"username=alice&password=x", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_wrong_body_type_is_a_client_error(client: TestClient[Litestar], content: bytes) -> None:
    response = client.post("/login", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.json() == NEEDS_CREDENTIALS


def test_expired_access_token_is_reissued_from_the_refresh_cookie(
    client: TestClient[Litestar], session_clock: SessionClock, caplog: pytest.LogCaptureFixture
) -> None:
    first_response = login(client)
    first = first_response.json()
    cookies = assert_session_cookies(first_response, set=[ACCESS, REFRESH])
    old_access = cookies[ACCESS].value

    session_clock.advance("16m")  # past the access session's 15 minutes, well within the refresh's 7 days
    # a client that replays the lapsed access cookie (a browser would have dropped it)
    client.cookies.clear()
    client.cookies.set(ACCESS, old_access)
    client.cookies.set(REFRESH, cookies[REFRESH].value)
    with caplog.at_level(logging.INFO, logger=seed.logger.name):
        response = client.post("/login")

    assert response.status_code == 200, response.text
    # The example's on_expire hook did the re-issue (not only the plugin's fallback).
    assert [r.getMessage() for r in caplog.records if r.name == seed.logger.name] == [
        "access token expired, re-issuing it from the refresh session"
    ]
    body = response.json()
    assert body["accessToken"]["id"] != first["accessToken"]["id"]
    assert body["accessToken"]["data"] == ALICE
    assert body["accessToken"]["createdAt"] == int(session_clock.now) * 1000
    assert body["refreshSession"] == first["refreshSession"]
    # set and not expired; the refresh cookie is left alone
    new_access = assert_session_cookies(response, set={ACCESS})[ACCESS]
    assert new_access.value
    assert new_access.value != old_access
    assert new_access.attributes.get("secure") is True

    # The new token is valid on its own.
    client.cookies.clear()
    client.cookies.set(ACCESS, new_access.value)
    again = client.post("/login")
    assert again.status_code == 200, again.text
    assert again.json()["accessToken"]["id"] == body["accessToken"]["id"]


def test_refresh_cookie_alone_needs_credentials(
    client: TestClient[Litestar], session_clock: SessionClock
) -> None:
    # A browser drops the access cookie at its expiry date and sends only the refresh cookie: as in
    # the original, only an expired access token reaching on_expire is re-issued (no refresh
    # fallback here), so the caller logs in again.
    first_response = login(client)
    first = first_response.json()
    refresh_token = assert_session_cookies(first_response, set=[ACCESS, REFRESH])[REFRESH].value

    session_clock.advance("16m")
    client.cookies.clear()
    client.cookies.set(REFRESH, refresh_token)
    response = client.post("/login")

    assert response.status_code == 400, response.text
    assert response.json() == NEEDS_CREDENTIALS
    assert_session_cookies(response)
    assert client.get("/profile").json() == NOT_AUTHENTICATED

    again = client.post("/login", json=CREDENTIALS)
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["accessToken"]["id"] != first["accessToken"]["id"]
    # update() merges into the refresh session read from the cookie: re-issued with a new id
    assert body["refreshSession"]["id"] != first["refreshSession"]["id"]
    assert body["refreshSession"]["data"] == ALICE
    assert_session_cookies(again, set=[ACCESS, REFRESH])
    assert cookie_order(again) == [ACCESS, REFRESH]


def test_access_cookie_alone_describes_a_missing_refresh_session(
    client: TestClient[Litestar], session_clock: SessionClock
) -> None:
    log_in(client, ALICE)

    response = client.post("/login")

    assert response.status_code == 200, response.text
    refresh = response.json()["refreshSession"]
    # JSON.stringify drops the undefined id; a fresh session "expires" one lifetime from now
    assert refresh == {
        "createdAt": int(session_clock.now) * 1000,
        "expiresAt": int(session_clock.now) * 1000 + 7 * 24 * 3600 * 1000,
        "data": {},
    }
    assert_session_cookies(response)


def test_expired_access_without_refresh_needs_credentials(
    client: TestClient[Litestar], session_clock: SessionClock
) -> None:
    old_access = log_in(client, ALICE).token

    session_clock.advance("16m")  # the client replays the lapsed cookie
    profile = client.get("/profile")
    assert profile.status_code == 401
    assert profile.json() == NOT_AUTHENTICATED
    # the stale cookie is removed (the library's fix of unjwt's G8; the original keeps it)
    assert_session_cookies(profile, cleared={ACCESS})

    client.cookies.set(ACCESS, old_access)
    response = client.post("/login")
    assert response.status_code == 400
    assert response.json() == NEEDS_CREDENTIALS


def test_profile_needs_a_session(client: TestClient[Litestar]) -> None:
    response = client.get("/profile")
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert "www-authenticate" not in response.headers  # h3 sends none

    log_in(client, ALICE)
    response = client.get("/profile")
    assert response.status_code == 200, response.text
    assert response.json() == PROFILE


@pytest.mark.parametrize(("method", "path"), [("GET", "/login"), ("GET", "/nowhere"), ("POST", "/profile")])
def test_unknown_routes_answer_as_h3(client: TestClient[Litestar], method: str, path: str) -> None:
    response = client.request(method, path)

    assert response.status_code == 404  # h3 has no 405
    assert response.json() == {
        "status": 404,
        "message": f"Cannot find any route matching [{method}] {BASE_URL}{path}",
    }


def test_logout_clears_both_sessions(client: TestClient[Litestar]) -> None:
    log_in(client, ALICE)
    log_in(client, ALICE, session=REFRESH)

    response = client.post("/logout")

    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True}
    cookies = assert_session_cookies(response, cleared=[ACCESS, REFRESH])  # expired
    assert cookie_order(response) == [ACCESS, REFRESH]
    for cookie in cookies.values():
        assert cookie.value == ""
    assert not client.cookies.get(ACCESS)
    assert not client.cookies.get(REFRESH)
    again = client.post("/login")
    assert again.status_code == 400
    assert again.json() == NEEDS_CREDENTIALS


def test_dev_keys_are_generated_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / ".dev-keys.json"
    monkeypatch.setenv(seed.DEV_KEYS_ENV, str(key_file))

    first_app = seed.create_app(pbes2_iterations=1000)

    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    saved = key_file.read_text()
    assert list(key_file.parent.iterdir()) == [key_file]  # no temporary file left behind
    with TestClient(first_app, base_url=BASE_URL) as first_client:
        first_response = login(first_client)
    first = first_response.json()
    cookies = assert_session_cookies(first_response, set=[ACCESS, REFRESH])

    second_app = seed.create_app(pbes2_iterations=1000)

    assert key_file.read_text() == saved
    with TestClient(second_app, base_url=BASE_URL) as second_client:
        second_client.cookies.set(ACCESS, cookies[ACCESS].value)
        second_client.cookies.set(REFRESH, cookies[REFRESH].value)
        response = second_client.post("/login")
    assert response.status_code == 200, response.text
    assert response.json() == first


def test_keys_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, access_key: KeyPair
) -> None:
    key_file = tmp_path / ".dev-keys.json"
    monkeypatch.setenv(seed.DEV_KEYS_ENV, str(key_file))
    monkeypatch.setenv(seed.ACCESS_PRIVATE_ENV, json.dumps(access_key.private_key))
    monkeypatch.setenv(seed.REFRESH_PASSWORD_ENV, PASSWORD)

    keys = seed.load_keys()
    env_app = seed.create_app(pbes2_iterations=1000)

    assert not key_file.exists()
    assert keys.refresh_password == PASSWORD
    assert keys.access_key.private_key == access_key.private_key
    with TestClient(env_app, base_url=BASE_URL) as env_client:
        login(env_client)
        assert env_client.get("/profile").status_code == 200


def test_module_level_app_is_built_on_first_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / ".dev-keys.json"
    monkeypatch.setenv(seed.DEV_KEYS_ENV, str(key_file))
    monkeypatch.setattr(seed, "_app", None)

    assert not key_file.exists()  # importing the module wrote nothing
    application = seed.app

    assert isinstance(application, Litestar)
    assert seed.app is application
    assert key_file.is_file()
