"""``csrf_headers`` and ``assert_session_cookies`` on the responses of a real app."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from litestar.testing import TestClient

from litestar_jwtsession.testing import (
    SessionClock,
    assert_session_cookies,
    csrf_headers,
    log_in,
)
from tests.testing.support import ACCESS, BASE_URL, CHUNKY, REFRESH, create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

ALICE = {"sub": "alice"}


@pytest.fixture
def client(session_clock: SessionClock) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(session_clock, csrf=True), base_url=BASE_URL) as client:
        yield client


def response_with(*set_cookies: str) -> httpx.Response:
    return httpx.Response(200, headers=[("set-cookie", value) for value in set_cookies])


# --------------------------------------------------------------------------- csrf_headers


def test_the_header_lets_an_unsafe_request_through(client: TestClient[Any]) -> None:
    client.post("/login/access", json=ALICE)
    assert client.post("/write").status_code == 401
    headers = csrf_headers(client)
    assert headers == {"x-csrf-token": client.cookies[f"{ACCESS}-csrf"]}
    assert client.post("/write", headers=headers).json() == {"sub": "alice"}


def test_the_header_name_is_the_configs(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock, csrf=True, csrf_header="X-Guard"), base_url=BASE_URL) as client:
        log_in(client, ALICE)
        headers = csrf_headers(client)
        assert list(headers) == ["x-guard"]
        assert client.post("/write", headers=headers).status_code == 200


def test_the_value_comes_from_the_response_first(client: TestClient[Any]) -> None:
    response = client.post("/login/access", json=ALICE)
    issued = log_in(client, ALICE)  # the client now holds another session
    assert csrf_headers(client, response) == {"x-csrf-token": response.json()["csrf"]}
    assert csrf_headers(client) == {"x-csrf-token": issued.csrf_token}
    assert response.json()["csrf"] != issued.csrf_token


def test_a_session_can_be_named(client: TestClient[Any]) -> None:
    log_in(client, ALICE)
    refresh = log_in(client, ALICE, session=REFRESH)
    assert csrf_headers(client, session=REFRESH) == {"x-csrf-token": refresh.csrf_token}
    # one token proves the whole request: the refresh session's vouches for the access cookie
    assert client.post("/write", headers=csrf_headers(client, session=REFRESH)).status_code == 200


def test_nothing_to_copy_fails_clearly(client: TestClient[Any], session_clock: SessionClock) -> None:
    with pytest.raises(AssertionError, match=re.escape("no CSRF cookie ('access-csrf', 'refresh-csrf', ")):
        csrf_headers(client)
    with TestClient(create_app(session_clock), base_url=BASE_URL) as unprotected:
        log_in(unprotected, ALICE)
        with pytest.raises(AssertionError, match="no session of this app is CSRF-protected"):
            csrf_headers(unprotected)
        with pytest.raises(AssertionError, match="'access' is not CSRF-protected"):
            csrf_headers(unprotected, session=ACCESS)


# --------------------------------------------------------------------------- assert_session_cookies


def test_a_login_response(client: TestClient[Any]) -> None:
    response = client.post("/login/access", json=ALICE)
    written = assert_session_cookies(response, set={ACCESS}, csrf=True)
    cookie = written[ACCESS]
    assert cookie.state == "set"
    assert cookie.token == response.json()["token"] == client.cookies[ACCESS]
    assert cookie.companions == {f"{ACCESS}-csrf": response.json()["csrf"]}
    assert cookie.attributes["secure"] is True
    assert cookie.attributes["samesite"] == "Lax"
    assert cookie.expires is not None


def test_a_chunked_token_is_reassembled(client: TestClient[Any]) -> None:
    response = client.post("/login/chunky", json={"sub": "alice", "note": "x" * 500})
    cookie = assert_session_cookies(response, set=CHUNKY)[CHUNKY]
    assert cookie.chunks > 1
    assert cookie.token == response.json()["token"]


def test_a_logout_response(client: TestClient[Any]) -> None:
    log_in(client, ALICE)
    log_in(client, ALICE, session=REFRESH)
    response = client.post("/logout", headers=csrf_headers(client))
    written = assert_session_cookies(response, cleared=[ACCESS, REFRESH], csrf=True)
    assert written[REFRESH].token is None
    assert written[REFRESH].companions == {f"{REFRESH}-csrf": None}


def test_differences_are_listed(client: TestClient[Any]) -> None:
    log_in(client, ALICE)
    response = client.post("/logout", headers=csrf_headers(client))  # clears access and refresh
    with pytest.raises(AssertionError) as failure:
        assert_session_cookies(response, set={ACCESS}, cleared={CHUNKY})
    message = str(failure.value)
    assert "access: expected set, but it is cleared" in message
    assert "chunky: expected cleared, but the response does not write it" in message
    assert "refresh: not expected, but the response writes it (cleared)" in message
    assert "refresh-csrf: not expected" in message
    assert "access=; Max-Age=0; Path=/" in message  # the Set-Cookie values follow
    assert_session_cookies(response, cleared={ACCESS}, only=False)


def test_no_cookies_at_all(client: TestClient[Any]) -> None:
    assert_session_cookies(client.get("/whoami"))
    with pytest.raises(AssertionError, match=r"access: not expected, but the response writes it \(set\)"):
        assert_session_cookies(client.post("/login/access", json=ALICE))


def test_broken_chunks_and_companions_are_caught() -> None:
    future = "Expires=Wed, 01 Jan 2200 00:00:00 GMT"
    gone = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    with pytest.raises(AssertionError, match=re.escape("s: announces 3 chunks, but ['s.3'] are missing")):
        assert_session_cookies(
            response_with(f"s=__chunked__3; {future}", f"s.1=ab; {future}", f"s.2=cd; {future}"), set="s"
        )
    with pytest.raises(AssertionError, match="s-csrf: written cleared while s is set"):
        assert_session_cookies(response_with(f"s=token; {future}", f"s-csrf=; {gone}"), set="s")
    with pytest.raises(AssertionError, match="s-device: still set while s is cleared"):
        assert_session_cookies(response_with(f"s=; {gone}", f"s-device=abc; {future}"), cleared="s")
    with pytest.raises(AssertionError, match=r"s-csrf: expected with s \(csrf=True\)"):
        assert_session_cookies(response_with(f"s=token; {future}"), set="s", csrf=True)
    with pytest.raises(AssertionError, match="s-csrf: written, but csrf=False"):
        assert_session_cookies(response_with(f"s=t; {future}", f"s-csrf=c; {future}"), set="s", csrf=False)
    with pytest.raises(AssertionError, match="s: written with an empty value that does not expire it"):
        assert_session_cookies(response_with(f"s=; {future}"), set="s")
    with pytest.raises(ValueError, match="both set and cleared"):
        assert_session_cookies(response_with(), set="s", cleared=["s"])
    # the last Set-Cookie of a name stands, as in a browser
    assert_session_cookies(response_with(f"s=old; {future}", f"s=; {gone}"), cleared="s")
