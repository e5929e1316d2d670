"""The API of the SPA example (examples/spa/app.py) through Litestar's TestClient (no browser).

The browser itself is exercised by tests/browser/test_spa_chromium.py.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from examples.spa import app as spa
from litestar_jwtsession.testing import (
    IssuedSession,
    SessionClock,
    SessionCookie,
    assert_session_cookies,
    csrf_headers,
    drop_expired_cookies,
    log_in,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

BASE_URL = "https://testserver.local"  # the session cookies are Secure
ACCESS, REFRESH = spa.ACCESS_SESSION, spa.REFRESH_SESSION
ALICE = {"username": "alice", "password": "wonderland"}
ALICE_CLAIMS = {"sub": "alice", "name": "Alice", "scope": ["read:profile"]}  # what /api/login issues
ACCESS_MAX_AGE = 30
REFRESH_MAX_AGE = 600


@pytest.fixture
def client(session_clock: SessionClock) -> Iterator[TestClient[Any]]:
    app = spa.create_app(access_max_age=ACCESS_MAX_AGE, refresh_max_age=REFRESH_MAX_AGE, clock=session_clock)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def is_cleared(cookie: SessionCookie) -> bool:
    return cookie.attributes.get("max-age") == "0" and cookie.value == ""


def login(client: TestClient[Any], credentials: dict[str, str] = ALICE) -> httpx.Response:
    """Through the page's login call."""
    response = client.post("/api/login", json=credentials)
    assert response.status_code == 200, response.text
    return response


def log_in_alice(client: TestClient[Any]) -> IssuedSession:
    """Without the login call: both sessions of alice, as /api/login would issue them."""
    log_in(client, ALICE_CLAIMS, session=REFRESH)
    return log_in(client, ALICE_CLAIMS)


def test_page_and_script_are_served(client: TestClient[Any]) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    elements = ("login-form", "call-api", "api-status", "countdown", "auto-refresh", "logout-button")
    for element_id in (*elements, "devices-section", "device-list", "revoke-others"):
        assert f'id="{element_id}"' in page.text
    assert '<script src="/static/app.js">' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "/api/me" in script.text
    assert_session_cookies(page)  # serving the page touches no session


def test_login_sets_both_cookies(client: TestClient[Any], session_clock: SessionClock) -> None:
    response = login(client)
    body = response.json()
    now = int(session_clock.now)
    assert body["user"] == "alice"
    assert body["name"] == "Alice"
    assert body["scope"] == ["read:profile"]
    assert body["refreshed"] is False
    assert body["issuedAt"] == now * 1000
    assert body["expiresAt"] == (now + ACCESS_MAX_AGE) * 1000

    # csrf=True: each session cookie comes with a script-readable "-csrf" companion, and nothing else
    cookies = assert_session_cookies(response, set={ACCESS, REFRESH}, csrf=True)
    (refresh_csrf,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{REFRESH}-csrf=")]
    assert "httponly" not in refresh_csrf.lower()
    access, refresh = cookies[ACCESS], cookies[REFRESH]
    token = access.value
    assert segment(token, 0)["alg"] == "ES256"
    claims = segment(token, 1)
    assert claims["sub"] == "alice"
    assert claims["jti"] == body["sessionId"]
    assert claims["exp"] == now + ACCESS_MAX_AGE
    # readable by the page, Secure, and lapsing exactly at the token's exp
    assert "httponly" not in access.attributes
    assert access.attributes["secure"] is True
    assert access.attributes["samesite"] == "Lax"
    assert access.attributes["path"] == "/"
    assert access.expires == claims["exp"]
    # the refresh session: an A256KW JWE, HttpOnly
    refresh_header = segment(refresh.value, 0)
    assert (refresh_header["alg"], refresh_header["enc"]) == ("A256KW", "A128GCM")
    assert len(refresh.value.split(".")) == 5
    assert refresh.attributes["httponly"] is True
    assert refresh.attributes["secure"] is True
    assert refresh.expires == now + REFRESH_MAX_AGE


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "builder"},
        {"username": "mallory", "password": "wonderland"},
        {"username": "alice", "password": ""},
    ],
)
def test_login_rejects_wrong_credentials(client: TestClient[Any], credentials: dict[str, str]) -> None:
    response = client.post("/api/login", json=credentials)
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password"
    assert_session_cookies(response)


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"username": "alice"}', b"[1, 2]"])
def test_login_rejects_malformed_bodies(client: TestClient[Any], body: bytes) -> None:
    response = client.post("/api/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert_session_cookies(response)


def test_me_requires_a_session(client: TestClient[Any]) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert_session_cookies(response)


def test_me_with_a_valid_access_session(client: TestClient[Any]) -> None:
    session_id = log_in_alice(client).id
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["sessionId"] == session_id
    assert response.json()["refreshed"] is False
    assert_session_cookies(response)  # nothing to re-issue


def test_me_refreshes_when_the_browser_dropped_the_access_cookie(
    client: TestClient[Any], session_clock: SessionClock
) -> None:
    """What a browser does: once Expires has passed, only the refresh cookie is sent."""
    drop_expired_cookies(client, session_clock)
    first = log_in_alice(client)
    session_clock.advance(ACCESS_MAX_AGE)
    assert ACCESS not in client.cookies

    response = client.get("/api/me")
    assert response.status_code == 200
    body = response.json()
    assert body["refreshed"] is True
    assert body["user"] == "alice"
    assert body["sessionId"] != first.id
    assert body["expiresAt"] == (int(session_clock.now) + ACCESS_MAX_AGE) * 1000
    # the refresh session rotates with it (the app has a store), in the same device session
    cookies = assert_session_cookies(response, set={ACCESS, REFRESH}, csrf=True)
    assert segment(cookies[ACCESS].value, 1)["jti"] == body["sessionId"]
    (device,) = client.get("/api/sessions").json()  # logged in by the test helper, listed now
    assert device["id"] == segment(cookies[ACCESS].value, 1)["fid"]
    assert device["current"] is True

    again = client.get("/api/me")
    assert again.json()["sessionId"] == body["sessionId"]
    assert again.json()["refreshed"] is False


def test_me_refreshes_a_replayed_expired_access_cookie(
    client: TestClient[Any], session_clock: SessionClock
) -> None:
    """A client that keeps sending the lapsed cookie gets a new one, not a cleared one."""
    first = log_in_alice(client)
    session_clock.advance(ACCESS_MAX_AGE)  # exp == now: expired
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["refreshed"] is True
    assert response.json()["sessionId"] != first.id
    headers = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{ACCESS}=")]
    assert len(headers) == 1
    assert not is_cleared(assert_session_cookies(response, set={ACCESS, REFRESH}, csrf=True)[ACCESS])


def test_me_fails_once_the_refresh_session_expired(
    client: TestClient[Any], session_clock: SessionClock
) -> None:
    log_in_alice(client)
    session_clock.advance(REFRESH_MAX_AGE)  # the client replays both lapsed cookies
    response = client.get("/api/me")
    assert response.status_code == 401
    cookies = assert_session_cookies(response, cleared={ACCESS, REFRESH})
    assert is_cleared(cookies[ACCESS])
    assert is_cleared(cookies[REFRESH])


def test_logout_clears_both_sessions(client: TestClient[Any]) -> None:
    issued = log_in_alice(client)
    # as the page does: echo the readable CSRF cookie on an unsafe request
    headers = csrf_headers(client)
    assert headers == {"x-csrf-token": issued.csrf_token}
    response = client.post("/api/logout", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    cookies = assert_session_cookies(response, cleared={ACCESS, REFRESH}, csrf=True)
    assert is_cleared(cookies[ACCESS])
    assert is_cleared(cookies[REFRESH])
    assert client.get("/api/me").status_code == 401


def test_logout_after_the_access_cookie_lapsed_still_clears_both(
    client: TestClient[Any], session_clock: SessionClock
) -> None:
    drop_expired_cookies(client, session_clock)
    log_in_alice(client)
    session_clock.advance(ACCESS_MAX_AGE)
    response = client.post("/api/logout")
    assert response.status_code == 200
    cookies = assert_session_cookies(response, cleared={ACCESS, REFRESH})
    assert is_cleared(cookies[ACCESS])  # not the access session the fallback re-issued on the way
    assert is_cleared(cookies[REFRESH])
    assert client.get("/api/me").status_code == 401


def test_second_demo_user_and_relogin(client: TestClient[Any]) -> None:
    alice = login(client).json()
    bob = login(client, {"username": "bob", "password": "builder"}).json()
    assert bob["user"] == "bob"
    assert bob["scope"] == ["read:profile", "write:profile"]
    assert bob["sessionId"] != alice["sessionId"]
    assert client.get("/api/me").json()["user"] == "bob"


def test_default_access_lifetime_is_long_enough_to_watch() -> None:
    with TestClient(spa.create_app(), base_url=BASE_URL) as client:
        body = login(client).json()
    assert body["expiresAt"] - body["issuedAt"] == spa.DEFAULT_ACCESS_MAX_AGE * 1000
    assert spa.DEFAULT_ACCESS_MAX_AGE >= 30
    assert spa.app is not None  # what `uvicorn examples.spa.app:app` serves
