"""The API of the SPA example (examples/spa/app.py) through Litestar's TestClient (no browser).

The browser itself is exercised by tests/browser/test_spa_chromium.py.
"""

from __future__ import annotations

import base64
import json
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from examples.spa import app as spa

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

BASE_URL = "https://testserver.local"  # the session cookies are Secure
ACCESS, REFRESH = spa.ACCESS_SESSION, spa.REFRESH_SESSION
ALICE = {"username": "alice", "password": "wonderland"}
ACCESS_MAX_AGE = 30
REFRESH_MAX_AGE = 600


class FakeClock:
    """Starts at the real time, so cookie expiry dates stay in the future for the client."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(clock: FakeClock) -> Iterator[TestClient[Any]]:
    app = spa.create_app(access_max_age=ACCESS_MAX_AGE, refresh_max_age=REFRESH_MAX_AGE, clock=clock)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """``{name: {"value": ..., attribute (lower case): value or True}}`` of the Set-Cookie headers."""
    parsed: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = header.split(";")
        name, _, value = first.partition("=")
        entry: dict[str, str | bool] = {"value": value}
        for attribute in attributes:
            key, sep, attr_value = attribute.strip().partition("=")
            entry[key.lower()] = attr_value if sep else True
        parsed[name] = entry
    return parsed


def segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def is_cleared(cookie: dict[str, str | bool]) -> bool:
    return cookie.get("max-age") == "0" and cookie["value"] == ""


def login(client: TestClient[Any], credentials: dict[str, str] = ALICE) -> httpx.Response:
    response = client.post("/api/login", json=credentials)
    assert response.status_code == 200, response.text
    return response


def test_page_and_script_are_served(client: TestClient[Any]) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for element_id in ("login-form", "call-api", "api-status", "countdown", "auto-refresh", "logout-button"):
        assert f'id="{element_id}"' in page.text
    assert '<script src="/static/app.js">' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert "/api/me" in script.text
    assert not set_cookies(page)  # serving the page touches no session


def test_login_sets_both_cookies(client: TestClient[Any], clock: FakeClock) -> None:
    response = login(client)
    body = response.json()
    now = int(clock.now)
    assert body["user"] == "alice"
    assert body["name"] == "Alice"
    assert body["scope"] == ["read:profile"]
    assert body["refreshed"] is False
    assert body["issuedAt"] == now * 1000
    assert body["expiresAt"] == (now + ACCESS_MAX_AGE) * 1000

    cookies = set_cookies(response)
    # csrf=True: each session cookie comes with a script-readable "-csrf" companion
    assert set(cookies) == {ACCESS, REFRESH, f"{ACCESS}-csrf", f"{REFRESH}-csrf"}
    assert "httponly" not in {name.lower() for name in cookies[f"{REFRESH}-csrf"]}
    access, refresh = cookies[ACCESS], cookies[REFRESH]
    token = str(access["value"])
    assert segment(token, 0)["alg"] == "ES256"
    claims = segment(token, 1)
    assert claims["sub"] == "alice"
    assert claims["jti"] == body["sessionId"]
    assert claims["exp"] == now + ACCESS_MAX_AGE
    # readable by the page, Secure, and lapsing exactly at the token's exp
    assert "httponly" not in access
    assert access["secure"] is True
    assert access["samesite"] == "Lax"
    assert access["path"] == "/"
    assert parsedate_to_datetime(str(access["expires"])).timestamp() == claims["exp"]
    # the refresh session: an A256KW JWE, HttpOnly
    refresh_header = segment(str(refresh["value"]), 0)
    assert (refresh_header["alg"], refresh_header["enc"]) == ("A256KW", "A128GCM")
    assert len(str(refresh["value"]).split(".")) == 5
    assert refresh["httponly"] is True
    assert refresh["secure"] is True
    assert parsedate_to_datetime(str(refresh["expires"])).timestamp() == now + REFRESH_MAX_AGE


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
    assert not set_cookies(response)


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"username": "alice"}', b"[1, 2]"])
def test_login_rejects_malformed_bodies(client: TestClient[Any], body: bytes) -> None:
    response = client.post("/api/login", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert not set_cookies(response)


def test_me_requires_a_session(client: TestClient[Any]) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert not set_cookies(response)


def test_me_with_a_valid_access_session(client: TestClient[Any]) -> None:
    session_id = login(client).json()["sessionId"]
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["sessionId"] == session_id
    assert response.json()["refreshed"] is False
    assert not set_cookies(response)  # nothing to re-issue


def test_me_refreshes_when_the_browser_dropped_the_access_cookie(
    client: TestClient[Any], clock: FakeClock
) -> None:
    """What a browser does: once Expires has passed, only the refresh cookie is sent."""
    first = login(client).json()
    clock.now += ACCESS_MAX_AGE
    client.cookies.delete(ACCESS)

    response = client.get("/api/me")
    assert response.status_code == 200
    body = response.json()
    assert body["refreshed"] is True
    assert body["user"] == "alice"
    assert body["sessionId"] != first["sessionId"]
    assert body["expiresAt"] == (int(clock.now) + ACCESS_MAX_AGE) * 1000
    cookies = set_cookies(response)
    assert set(cookies) == {ACCESS, f"{ACCESS}-csrf"}  # the refresh session is left alone
    assert segment(str(cookies[ACCESS]["value"]), 1)["jti"] == body["sessionId"]

    again = client.get("/api/me")
    assert again.json()["sessionId"] == body["sessionId"]
    assert again.json()["refreshed"] is False


def test_me_refreshes_a_replayed_expired_access_cookie(client: TestClient[Any], clock: FakeClock) -> None:
    """A client that keeps sending the lapsed cookie gets a new one, not a cleared one."""
    first = login(client).json()
    clock.now += ACCESS_MAX_AGE  # exp == now: expired
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["refreshed"] is True
    assert response.json()["sessionId"] != first["sessionId"]
    headers = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{ACCESS}=")]
    assert len(headers) == 1
    assert not is_cleared(set_cookies(response)[ACCESS])


def test_me_fails_once_the_refresh_session_expired(client: TestClient[Any], clock: FakeClock) -> None:
    login(client)
    clock.now += REFRESH_MAX_AGE
    response = client.get("/api/me")
    assert response.status_code == 401
    cookies = set_cookies(response)
    assert is_cleared(cookies[ACCESS])
    assert is_cleared(cookies[REFRESH])


def test_logout_clears_both_sessions(client: TestClient[Any]) -> None:
    login(client)
    # as the page does: echo the readable CSRF cookie on an unsafe request
    token = client.cookies.get(f"{ACCESS}-csrf")
    assert token
    response = client.post("/api/logout", headers={"x-csrf-token": token})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    cookies = set_cookies(response)
    assert set(cookies) == {ACCESS, REFRESH, f"{ACCESS}-csrf", f"{REFRESH}-csrf"}
    assert is_cleared(cookies[ACCESS])
    assert is_cleared(cookies[REFRESH])
    assert client.get("/api/me").status_code == 401


def test_logout_after_the_access_cookie_lapsed_still_clears_both(
    client: TestClient[Any], clock: FakeClock
) -> None:
    login(client)
    clock.now += ACCESS_MAX_AGE
    client.cookies.delete(ACCESS)
    response = client.post("/api/logout")
    assert response.status_code == 200
    cookies = set_cookies(response)
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
