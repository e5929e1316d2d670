"""The refresh fallback: a missing or expired access session is re-issued from a valid refresh session
before the guard decides, and the new access cookie reaches the client on the same response.

Clients here are cookie jars that honour ``Expires`` (like a browser): once the access cookie has
expired it is simply not sent. Tests that need "expired" without sleeping use a fake session clock
or delete the access cookie from the jar, which is what the browser does at ``Expires``.
"""

from __future__ import annotations

import asyncio
import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from joserfc import jws
from litestar import Litestar, Request, Router, get, post
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient, TestClient

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    SessionClaims,
    generate_jwk,
    requires_scopes,
    requires_session,
)
from tests.helpers import EPOCH, FakeClock, b64url_decode, flip, joserfc_key, parse_set_cookie

BASE_URL = "https://testserver.local"
ES256 = generate_jwk("ES256")
A256KW = generate_jwk("A256KW")
assert isinstance(ES256, KeyPair)
USER = {"sub": "ada", "name": "Ada", "scope": ["read", "write"]}


def configs(
    clock: Any = time.time, access_max_age: Any = 2
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=ES256, name="access", max_age=access_max_age, clock=clock
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(key=A256KW, name="refresh", max_age="1h", clock=clock)
    return access, refresh


@post("/login", status_code=200)
async def login(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    await access.update(USER, replace=True)
    await refresh.update(USER, replace=True)
    return "welcome"


@post("/logout", status_code=200)
async def logout(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    await access.clear()
    await refresh.clear()
    return "bye"


@get("/notes", guards=[requires_scopes("read")])
async def notes(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
    return {"id": access.id, "data": access.data, "token": access.token}


@get("/peek")
async def peek(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
    """Unguarded, but it injects the access session: the fallback runs here as well."""
    return {"valid": access.id is not None, "data": access.data}


def make_app(access: Any, refresh: Any, **plugin_kwargs: Any) -> Litestar:
    return Litestar(
        [login, logout, notes, peek],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)],
    )


def cookies_by_name(response: Any) -> dict[str, tuple[str, dict[str, str | bool]]]:
    result = {}
    for line in response.headers.get_list("set-cookie"):
        name, value, attrs = parse_set_cookie(line)
        assert name not in result, f"{name} set twice: {response.headers.get_list('set-cookie')}"
        result[name] = (value, attrs)
    return result


def payload(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


def verify_access(token: str) -> dict[str, Any]:
    """Verify with joserfc directly (ES256 public key), not with the library."""
    assert isinstance(ES256, KeyPair)
    result = jws.deserialize_compact(token, joserfc_key(ES256.public_key), algorithms=["ES256"])
    return json.loads(result.payload)  # type: ignore[no-any-return]


def assert_expired_cookie(attrs: dict[str, str | bool], value: str) -> None:
    assert value == ""
    assert attrs.get("max-age") == "0"
    assert attrs.get("expires") == EPOCH


def drop(client: Any, name: str) -> None:
    """Remove a cookie from the jar, as a browser does when it reaches ``Expires``."""
    client.cookies.delete(name)


def set_jar(client: Any, **cookies: str) -> None:
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value, domain="testserver.local", path="/")


# --------------------------------------------------------------------------- the whole flow, real time


def test_login_expiry_refresh_logout_flow() -> None:
    access, refresh = configs()
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        response = client.post("/login")
        assert response.status_code == 200
        set_at_login = cookies_by_name(response)
        assert set(set_at_login) == {"access", "refresh"}
        first_access = set_at_login["access"][0]
        assert client.cookies.get("access") == first_access

        response = client.get("/notes")
        assert response.status_code == 200
        assert response.json()["token"] == first_access
        assert "set-cookie" not in response.headers

        time.sleep(3)  # past the access cookie's Expires: the jar no longer sends it
        assert client.cookies.get("access") is None or "access" not in _sent_cookies(client)

        response = client.get("/notes")
        assert response.status_code == 200, response.text
        refreshed = cookies_by_name(response)
        assert set(refreshed) == {"access"}  # the refresh cookie is left alone
        token, attrs = refreshed["access"]
        assert token
        assert token != first_access
        assert response.json()["token"] == token
        assert response.json()["data"] == USER
        claims = payload(token)
        assert claims == verify_access(token)
        assert claims["exp"] == claims["iat"] + 2
        assert claims["jti"] != payload(first_access)["jti"]
        expires = attrs["expires"]
        assert isinstance(expires, str)
        assert int(parsedate_to_datetime(expires).timestamp()) == claims["exp"]

        # the jar took the new cookie: the next call needs no refresh
        response = client.get("/notes")
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert response.json()["token"] == token

        response = client.post("/logout")
        assert response.status_code == 200
        cleared = cookies_by_name(response)
        assert set(cleared) == {"access", "refresh"}
        for value, attrs in cleared.values():
            assert_expired_cookie(attrs, value)

        response = client.get("/notes")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "set-cookie" not in response.headers


def test_logout_with_only_a_refresh_cookie_clears_both() -> None:
    """Injecting the access session re-issues it, but ``clear()`` wins: no live cookie goes out."""
    access, refresh = configs(access_max_age="15m")
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.post("/logout")
        assert response.status_code == 200
        cookies = cookies_by_name(response)
        assert set(cookies) == {"access", "refresh"}
        for value, attrs in cookies.values():
            assert_expired_cookie(attrs, value)
        assert client.get("/notes").status_code == 401


def _sent_cookies(client: TestClient[Any]) -> set[str]:
    request = client.build_request("GET", "/notes")
    header = request.headers.get("cookie", "")
    return {part.split("=", 1)[0].strip() for part in header.split(";") if part.strip()}


# --------------------------------------------------------------------------- missing / expired access


def test_missing_access_is_reissued_before_the_guard_decides() -> None:
    access, refresh = configs(access_max_age="15m")
    refreshes: list[HookEvent] = []
    access.hooks.on_refresh(refreshes.append)
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.get("/notes")
        assert response.status_code == 200
        token, _ = cookies_by_name(response)["access"]
        assert response.json() == {"id": payload(token)["jti"], "data": USER, "token": token}
        assert len(refreshes) == 1
        old = refreshes[0].old_session
        assert old is not None
        assert old.data == USER
        assert refreshes[0].session.config is access

        # the fallback also runs for a handler that only injects the access session
        drop(client, "access")
        response = client.get("/peek")
        assert response.json() == {"valid": True, "data": USER}
        assert "access" in cookies_by_name(response)


def test_expired_access_cookie_is_reissued_not_cleared() -> None:
    """A client that still sends the lapsed token (a fake clock moved past ``exp``)."""
    clock = FakeClock(time.time() + 60)  # cookie dates stay in the future for the jar
    access, refresh = configs(clock=clock)
    expired_events: list[HookEvent] = []
    access.hooks.on_expire(expired_events.append)
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        old = client.cookies["access"]
        clock.now += 10
        response = client.get("/notes")
        assert response.status_code == 200
        token, attrs = cookies_by_name(response)["access"]  # one Set-Cookie, a new token, not a clear
        assert token
        assert token != old
        assert attrs.get("max-age") != "0"
        assert payload(token)["iat"] == int(clock.now)
        assert len(expired_events) == 1


def test_refresh_happens_once_per_request() -> None:
    access, refresh = configs(access_max_age="15m")
    count: list[int] = []
    access.hooks.on_refresh(lambda event: count.append(1))

    @get("/many", guards=[requires_session(), requires_scopes("read")])
    async def many(request: Request[Any, Any, Any], access: NamedDependency[Session[Any]]) -> str:
        from litestar_jwtsession import use_jws_session

        again = await use_jws_session(request, access.config)
        assert again is access
        return str(access.id)

    app = Litestar(
        [login, Router("/", route_handlers=[many], guards=[requires_session()])],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh)],
    )
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.get("/many")
        assert response.status_code == 200
        assert len(count) == 1
        assert len(response.headers.get_list("set-cookie")) == 1


def test_no_refresh_session_gives_401() -> None:
    access, refresh = configs(access_max_age="15m")
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        client.cookies.clear()
        response = client.get("/notes")
        assert response.status_code == 401
        assert "set-cookie" not in response.headers


def test_fallback_can_be_turned_off() -> None:
    access, refresh = configs(access_max_age="15m")
    with TestClient(make_app(access, refresh, refresh_fallback=False), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        assert client.get("/notes").status_code == 401


# --------------------------------------------------------------------------- hooks


def test_on_refresh_false_vetoes() -> None:
    access, refresh = configs(access_max_age="15m")
    access.hooks.on_refresh(lambda event: False)
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.get("/notes")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "access" not in cookies_by_name(response)


def test_on_refresh_mapping_replaces_the_data() -> None:
    access, refresh = configs(access_max_age="15m")

    @access.hooks.on_refresh
    async def narrow(event: HookEvent) -> dict[str, Any]:
        assert event.old_session is not None
        return {"sub": event.old_session.data["sub"], "scope": ["read"], "refreshed": True}

    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.get("/notes")
        assert response.status_code == 200
        assert response.json()["data"] == {"sub": "ada", "scope": ["read"], "refreshed": True}
        token, _ = cookies_by_name(response)["access"]
        assert payload(token)["refreshed"] is True


def test_on_refresh_none_is_the_default_copy_and_later_hooks_still_decide() -> None:
    access, refresh = configs(access_max_age="15m")
    calls: list[str] = []

    @access.hooks.on_refresh
    def observe(event: HookEvent) -> None:
        calls.append("observe")

    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        response = client.get("/notes")
        assert response.json()["data"] == USER
        assert calls == ["observe"]

        access.hooks.on_refresh(lambda event: False)
        drop(client, "access")
        assert client.get("/notes").status_code == 401
        assert calls == ["observe", "observe"]


def test_user_on_missing_hook_registered_first_replaces_the_builtin() -> None:
    access, refresh = configs(access_max_age="15m")
    order: list[str] = []

    @access.hooks.on_missing
    async def my_reissue(event: HookEvent) -> None:
        order.append("mine")
        from litestar_jwtsession import use_jwe_session

        refresh_session = await use_jwe_session(event.connection, refresh)
        if refresh_session.id is not None:
            await event.session.update({**refresh_session.data, "via": "user-hook"}, replace=True)

    access.hooks.on_refresh(lambda event: order.append("builtin-on-refresh"))
    app = make_app(access, refresh)  # the plugin's built-in on_missing comes after the user's

    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        order.clear()  # login read the access session too (no refresh yet: the hook did nothing)
        drop(client, "access")
        response = client.get("/notes")
        assert response.status_code == 200
        assert response.json()["data"] == {**USER, "via": "user-hook"}
        assert order == ["mine"]  # the built-in saw a valid session and did nothing
        assert len(response.headers.get_list("set-cookie")) == 1


def test_building_two_apps_registers_the_builtin_once() -> None:
    access, refresh = configs(access_max_age="15m")
    count: list[int] = []
    access.hooks.on_refresh(lambda event: count.append(1))
    make_app(access, refresh)
    app = make_app(access, refresh)
    with TestClient(app, base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        assert client.get("/notes").status_code == 200
        assert count == [1]


# --------------------------------------------------------------------------- unusable refresh sessions


def test_expired_refresh_gives_401_and_expires_its_cookie() -> None:
    clock = FakeClock(time.time() + 7200)  # cookie Expires stay in the future for the jar
    access, refresh = configs(clock=clock)
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        drop(client, "access")
        clock.now += 3601
        response = client.get("/notes")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        cookies = cookies_by_name(response)
        assert set(cookies) == {"refresh"}
        assert_expired_cookie(cookies["refresh"][1], cookies["refresh"][0])
        assert "refresh" not in client.cookies


def test_expired_access_and_expired_refresh_both_cleared() -> None:
    clock = FakeClock(time.time() + 7200)
    access, refresh = configs(clock=clock)
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        clock.now += 3601
        response = client.get("/notes")
        assert response.status_code == 401
        cookies = cookies_by_name(response)
        assert set(cookies) == {"access", "refresh"}
        for value, attrs in cookies.values():
            assert_expired_cookie(attrs, value)


@pytest.mark.parametrize("damage", ["tampered", "garbage", "foreign key"])
def test_invalid_refresh_gives_401_and_expires_its_cookie(damage: str) -> None:
    access, refresh = configs(access_max_age="15m")
    with TestClient(make_app(access, refresh), base_url=BASE_URL) as client:
        client.post("/login")
        good = client.cookies["refresh"]
        if damage == "tampered":
            bad = flip(good, 3)
        elif damage == "garbage":
            bad = "abc.def"
        else:
            other = JWESessionConfig(key=generate_jwk("A256KW"), name="refresh", max_age="1h")
            bad = other.encode_token({"sub": "ada", "jti": "x", "iat": int(time.time())})
        set_jar(client, refresh=bad)
        response = client.get("/notes")
        assert response.status_code == 401
        cookies = cookies_by_name(response)
        assert set(cookies) == {"refresh"}
        assert_expired_cookie(cookies["refresh"][1], cookies["refresh"][0])


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_requests_with_only_a_refresh_cookie() -> None:
    access, refresh = configs(access_max_age="15m")
    app = make_app(access, refresh)
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        login_response = await client.post("/login")
        refresh_token = login_response.cookies["refresh"]
        client.cookies.clear()

        async def call() -> Any:
            # the explicit Cookie header wins over the jar: each request carries only the refresh cookie
            return await client.get("/notes", headers={"cookie": f"refresh={refresh_token}"})

        responses = await asyncio.gather(*(call() for _ in range(20)))

    statuses = [response.status_code for response in responses]
    assert statuses == [200] * 20, [r.text for r in responses if r.status_code != 200]
    jtis = set()
    for response in responses:
        cookies = cookies_by_name(response)
        assert set(cookies) == {"access"}
        token = cookies["access"][0]
        claims = verify_access(token)
        assert {k: v for k, v in claims.items() if k not in ("jti", "iat", "exp")} == USER
        assert response.json()["token"] == token
        jtis.add(claims["jti"])
    assert len(jtis) == 20  # one re-issue per request, none shared


def test_on_refresh_may_return_a_struct_and_a_failed_reissue_is_a_401() -> None:
    class Claims(SessionClaims):
        name: str

    access = JWSSessionConfig(key=generate_jwk("HS256"), name="acc", max_age=60, claims=Claims)
    refresh = JWESessionConfig(key=generate_jwk("A256KW"), name="ref", max_age="1h")
    errors: list[str] = []
    answer: dict[str, object] = {"value": Claims(sub="ada", name="from hook")}

    @access.hooks.on_refresh
    def reshape(event: HookEvent) -> object:
        return answer["value"]

    @access.hooks.on_error
    def record(event: HookEvent) -> None:
        errors.append(event.error.code if event.error else "?")

    @post("/login", status_code=200)
    async def login(ref: NamedDependency[Session[Any]]) -> None:
        await ref.update({"sub": "ada", "name": "from refresh"})

    @get("/me", guards=[requires_session()])
    async def me(acc: NamedDependency[Session[Claims]]) -> str:
        assert acc.claims is not None
        return acc.claims.name

    app = Litestar([login, me], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with TestClient(app, base_url="https://testserver.local") as client:
        client.post("/login")
        assert client.get("/me").text == "from hook"
        client.cookies.delete("acc")
        answer["value"] = {"sub": "ada"}  # lacks the required ``name``: the re-issue fails
        response = client.get("/me")
        assert response.status_code == 401
        assert errors == ["ERR_JWT_CLAIMS_CONVERSION"]
