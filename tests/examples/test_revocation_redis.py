"""End-to-end tests of the Redis revocation example (examples/revocation_redis/app.py): two
instances of the app share one real Redis server (see tests/stores/redis_server.py)."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from examples.revocation_redis.app import create_app
from litestar_jwtsession import KeyPair, generate_jwk
from litestar_jwtsession.testing import SessionClock, assert_session_cookies
from tests.helpers import parse_set_cookie
from tests.stores.redis_server import redis_url

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("redis_url",)

BASE_URL = "https://testserver.local"
ACCESS_KEY = generate_jwk("ES256")
REFRESH_KEY = generate_jwk("A256KW")
assert isinstance(ACCESS_KEY, KeyPair)
assert isinstance(REFRESH_KEY, dict)


@pytest.fixture
def instances(redis_url: str) -> Iterator[tuple[TestClient[Any], TestClient[Any], SessionClock]]:
    """Two instances of the example (same keys, same Redis namespace), and their session clock."""
    clock = SessionClock(time.time())
    namespace = f"example-{uuid.uuid4().hex}"
    apps = [
        create_app(
            redis_url, access_key=ACCESS_KEY, refresh_key=REFRESH_KEY, namespace=namespace, clock=clock
        )
        for _ in range(2)
    ]
    with TestClient(apps[0], base_url=BASE_URL) as one, TestClient(apps[1], base_url=BASE_URL) as two:
        yield one, two, clock


def send(http: TestClient[Any], method: str, path: str, **cookies: str) -> Any:
    http.cookies.clear()
    header = "; ".join(f"{name}={value}" for name, value in cookies.items() if value)
    return http.request(method, path, headers={"cookie": header} if header else {})


def set_cookies(response: Any) -> dict[str, str]:
    """Every cookie the response writes, by name (to replay them with ``send``)."""
    return {name: value for name, value, _ in map(parse_set_cookie, response.headers.get_list("set-cookie"))}


def log_in(http: TestClient[Any], user: str) -> dict[str, str]:
    """Through the example's login route (which also writes the rotation's device cookie)."""
    http.cookies.clear()
    response = http.post("/login", json={"username": user, "password": f"{user}-password"})
    assert response.status_code == 200
    return set_cookies(response)


def test_logout_on_one_instance_is_rejected_on_the_other(instances: Any) -> None:
    one, two, _ = instances
    cookies = log_in(one, "ada")
    assert send(two, "GET", "/me", **cookies).json()["user"] == "ada"
    response = send(one, "POST", "/logout", **cookies)
    cleared = assert_session_cookies(response, cleared={"access_token", "refresh_token"})
    assert [cookie.value for cookie in cleared.values()] == ["", ""]
    # the device cookie (the rotation's client key) goes with the refresh cookie
    assert cleared["refresh_token"].companions == {"refresh_token-device": None}
    for http in (two, one):
        response = send(http, "GET", "/me", **cookies)
        assert response.status_code == 401
        assert (
            assert_session_cookies(response, cleared={"access_token"}, only=False)["access_token"].value == ""
        )


def test_logout_everywhere_ends_every_session_of_the_user(instances: Any) -> None:
    one, two, clock = instances
    laptop, phone, other = log_in(one, "ada"), log_in(two, "ada"), log_in(one, "bob")
    clock.advance(1)
    assert send(two, "POST", "/logout-everywhere", **phone).status_code == 200
    assert send(one, "GET", "/me", **laptop).status_code == 401
    assert send(one, "GET", "/me", refresh_token=laptop["refresh_token"]).status_code == 401
    assert send(two, "GET", "/me", **other).json()["user"] == "bob"
    clock.advance(1)
    assert send(two, "GET", "/me", **log_in(one, "ada")).status_code == 200


def test_refresh_rotation_and_reuse_detection_across_instances(instances: Any) -> None:
    one, two, clock = instances
    first = log_in(one, "ada")
    device = {"refresh_token-device": first["refresh_token-device"]}  # the browser's device cookie
    clock.advance(5 * 60 + 1)  # the access session expired
    rotated = send(one, "GET", "/me", refresh_token=first["refresh_token"], **device)
    assert rotated.status_code == 200
    written = assert_session_cookies(rotated, set={"access_token", "refresh_token"})["refresh_token"]
    successor = written.value
    assert successor not in ("", first["refresh_token"])
    assert written.companions == device  # kept
    # a second tab, served by the other instance, races with the old token: same successor
    racing = send(two, "GET", "/me", refresh_token=first["refresh_token"], **device)
    assert racing.status_code == 200
    assert set_cookies(racing)["refresh_token"] == successor
    # long after the grace window the old token comes back: stolen; the family is revoked
    clock.advance(60)
    assert send(two, "GET", "/me", refresh_token=first["refresh_token"], **device).status_code == 401
    assert send(one, "GET", "/me", refresh_token=successor, **device).status_code == 401
