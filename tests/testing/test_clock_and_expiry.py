"""``SessionClock`` shared by an app's configs, and ``drop_expired_cookies`` following it."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient

from litestar_jwtsession.testing import (
    SessionClock,
    assert_session_cookies,
    drop_expired_cookies,
    log_in,
)
from tests.testing.support import ACCESS, ACCESS_MAX_AGE, BASE_URL, REFRESH, create_app

ALICE = {"sub": "alice"}


def test_the_clock_moves_only_when_told() -> None:
    clock = SessionClock(1_900_000_000)
    assert clock() == clock.now == 1_900_000_000
    assert clock.advance(30) == 1_900_000_030
    assert clock.advance(timedelta(minutes=1)) == 1_900_000_090
    assert clock.advance("15m") == 1_900_000_990
    assert clock.set(datetime(2030, 1, 1, tzinfo=UTC)) == 1_893_456_000
    assert clock() == 1_893_456_000
    with pytest.raises(ValueError, match="forward only"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="aware datetime"):
        clock.set(datetime(2030, 1, 1))  # naive: the mistake under test
    with pytest.raises(TypeError):
        clock.advance("15 minutes")  # unjwt's grammar has no spaces
    assert clock() == 1_893_456_000


def test_the_fixture_starts_at_the_current_whole_second(session_clock: SessionClock) -> None:
    assert session_clock() == math.floor(session_clock())
    assert session_clock() <= time.time()
    assert isinstance(session_clock, SessionClock)


def test_every_config_of_the_app_reads_the_shared_clock(session_clock: SessionClock) -> None:
    session_clock.set(session_clock() + 3 * 86_400)
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        for name in (ACCESS, REFRESH):
            body = client.post(f"/login/{name}", json=ALICE).json()
            assert client.get(f"/session/{name}").json()["id"] == body["id"]
        access = client.get(f"/session/{ACCESS}").json()
        refresh = client.get(f"/session/{REFRESH}").json()
        assert access["expires_at"] == (int(session_clock()) + ACCESS_MAX_AGE) * 1000
        assert refresh["expires_at"] == (int(session_clock()) + 86_400) * 1000


def test_a_lapsed_cookie_is_dropped_when_the_clock_moves(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)
        log_in(client, ALICE)
        session_clock.advance(ACCESS_MAX_AGE - 1)
        assert ACCESS in client.cookies
        session_clock.advance(1)  # exp == now: expired, and the cookie's Expires has come
        assert ACCESS not in client.cookies
        response = client.get("/whoami")
        assert response.status_code == 401
        assert_session_cookies(response)  # nothing sent, so nothing to clear


def test_without_it_the_client_replays_the_lapsed_cookie(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        log_in(client, ALICE)
        session_clock.advance(ACCESS_MAX_AGE)
        response = client.get("/whoami")
        assert response.status_code == 401
        assert_session_cookies(response, cleared={ACCESS})  # the server expires what it was sent


def test_the_refresh_fallback_answers_a_browser_that_dropped_the_access_cookie(
    session_clock: SessionClock,
) -> None:
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)
        log_in(client, ALICE)
        log_in(client, ALICE, session=REFRESH)
        session_clock.advance("10m")
        assert set(client.cookies) == {REFRESH}
        response = client.get("/whoami")
        assert response.status_code == 200
        assert_session_cookies(response, set={ACCESS})
        session_clock.advance("1D")
        assert not client.cookies
        assert client.get("/whoami").status_code == 401


def test_any_clock_callable_is_checked_before_each_request() -> None:
    now = [time.time()]
    with TestClient(create_app(lambda: now[0]), base_url=BASE_URL) as client:
        drop_expired_cookies(client, lambda: now[0])
        log_in(client, ALICE)
        now[0] += ACCESS_MAX_AGE
        assert ACCESS in client.cookies  # a plain callable cannot say it moved ...
        response = client.get("/whoami")
        assert response.status_code == 401
        assert_session_cookies(response)  # ... but the request went without the lapsed cookie
        assert ACCESS not in client.cookies


def test_max_age_counts_from_the_session_clock(session_clock: SessionClock) -> None:
    session_clock.set(session_clock() + 3600)  # an hour ahead of the real time
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)
        client.get("/remember-me")  # Max-Age=60
        session_clock.advance(59)
        assert client.cookies["remember"] == "yes"
        session_clock.advance(1)
        assert "remember" not in client.cookies


def test_switching_clocks(session_clock: SessionClock) -> None:
    other = SessionClock(session_clock())
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, other)
        log_in(client, ALICE)
        drop_expired_cookies(client, session_clock)
        other.advance("1D")  # no longer followed
        assert ACCESS in client.cookies
        session_clock.advance("1D")
        assert ACCESS not in client.cookies


def test_explicit_cookie_headers_are_kept(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)
        token = log_in(client, ALICE).token
        session_clock.advance(ACCESS_MAX_AGE)
        # a test that replays a lapsed token on purpose still can
        response = client.get("/whoami", headers={"cookie": f"{ACCESS}={token}"})
        assert response.status_code == 401
        assert_session_cookies(response, cleared={ACCESS})
