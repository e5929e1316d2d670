"""Refresh-token rotation with reuse detection (RFC 9700 §4.14), on the in-memory store and on a
real Redis server, including racing requests spread over two app instances."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from litestar.stores.memory import MemoryStore

from litestar_jwtsession import JWTSessionPlugin
from tests.helpers import decrypt_jwe, jws_claims, parse_set_cookie, token_header
from tests.stores.common import (
    ACCESS_MAX_AGE,
    REFRESH_KEY,
    Hooks,
    call,
    client,
    log_in,
    make_app,
    make_configs,
    refresh_set_cookie,
    set_cookies,
)

GRACE = 10.0


async def test_each_refresh_rotates_the_refresh_token_within_its_family(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        first_access, first_refresh = await log_in(http)
        family = None
        current = first_refresh
        seen = {first_refresh}
        for _ in range(3):
            clock.now += ACCESS_MAX_AGE + GRACE + 1  # the access token lapsed: the fallback refreshes
            response = await call(http, "GET", "/me", access=first_access, refresh=current)
            assert response.status_code == 200
            cookies = set_cookies(response)
            assert cookies["refresh"] not in seen  # a new refresh token each time
            seen.add(cookies["refresh"])
            current = cookies["refresh"]
            # the family is the first refresh token's jti, carried by every successor
            header = token_header(current)
            fam = decrypt_jwe(current, REFRESH_KEY, alg=header["alg"], enc=header["enc"])[1]["fam"]
            family = family or fam
            assert fam == family
            # ... and never copied into the client-readable access token
            assert "fam" not in jws_claims(cookies["access"])
            assert response.json()["fam"] is None


async def test_rotation_off_keeps_the_refresh_token(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store, rotate_refresh=False)
    async with client(app) as http:
        _, first_refresh = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        for _ in range(2):
            response = await call(http, "GET", "/me", refresh=first_refresh)
            assert response.status_code == 200
            assert set(set_cookies(response)) == {"access"}


async def test_replay_within_the_grace_window_gets_the_same_successor(store: Any) -> None:
    access, refresh, clock = make_configs()
    hooks = Hooks(access, refresh)
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        _, old_refresh = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        first = await call(http, "GET", "/me", refresh=old_refresh)
        clock.now += GRACE - 1
        second = await call(http, "GET", "/me", refresh=old_refresh)
        assert first.status_code == second.status_code == 200
        assert refresh_set_cookie(first) is not None
        assert refresh_set_cookie(first) == refresh_set_cookie(second)  # byte for byte
        assert hooks.of("on_reuse") == []
        assert hooks.of("on_error") == []


async def test_replay_after_the_grace_window_revokes_the_family(store: Any) -> None:
    access, refresh, clock = make_configs()
    hooks = Hooks(access, refresh)
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        _, stolen = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        response = await call(http, "GET", "/me", refresh=stolen)
        successor = set_cookies(response)["refresh"]
        family_access = set_cookies(response)["access"]  # carries the family
        clock.now += GRACE + 1

        hooks.calls.clear()
        response = await call(http, "GET", "/me", refresh=stolen)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_reuse") == [("on_reuse", "refresh", "ERR_REFRESH_TOKEN_REUSED")]
        assert hooks.of("on_error") == [("on_error", "refresh", "ERR_REFRESH_TOKEN_REUSED")]
        assert hooks.of("on_read", "refresh") == []  # on_read/on_error stay exclusive

        # the legitimate user is logged out too: the successor and its access token are revoked
        hooks.calls.clear()
        response = await call(http, "GET", "/me", access=family_access)
        assert response.status_code == 401
        assert set_cookies(response) == {"access": ""}
        response = await call(http, "GET", "/me", refresh=successor)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_error") == [
            ("on_error", "access", "ERR_SESSION_REVOKED"),
            ("on_error", "refresh", "ERR_SESSION_REVOKED"),
        ]


async def test_replay_by_another_client_within_the_grace_window_is_reuse(store: Any) -> None:
    access, refresh, clock = make_configs()
    hooks = Hooks(refresh)
    app = make_app(access, refresh, store=store)
    async with client(app, "browser-1") as user, client(app, "thief") as thief:
        _, token = await log_in(user)
        clock.now += ACCESS_MAX_AGE + 1
        successor = set_cookies(await call(user, "GET", "/me", refresh=token))["refresh"]
        assert (await call(thief, "GET", "/me", refresh=token)).status_code == 401
        assert len(hooks.of("on_reuse")) == 1
        assert (await call(user, "GET", "/me", refresh=successor)).status_code == 401


async def test_logout_revokes_the_family_a_racing_replay_cannot_resurrect_it(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        _, old_refresh = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        # a logout request that first refreshed (rotated) and then cleared both sessions
        response = await call(http, "POST", "/logout", refresh=old_refresh)
        assert set_cookies(response) == {"access": "", "refresh": ""}
        # a slower tab replays the pre-rotation token within the grace window: still logged out
        response = await call(http, "GET", "/me", refresh=old_refresh)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}


class InFlight:
    """ASGI wrapper counting concurrent HTTP requests (to prove the requests really raced)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = self.peak = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


RACE_SIZE = 200


async def test_two_hundred_racing_requests_over_two_instances_share_one_successor(
    store: Any, request: pytest.FixtureRequest
) -> None:
    """Every tab's access token expired at once; one cookie jar; two instances behind a balancer."""
    access, refresh, clock = make_configs()
    hooks = Hooks(refresh)
    apps = [InFlight(make_app(access, refresh, store=store)) for _ in range(2)]
    async with client(apps[0]) as one, client(apps[1]) as two:
        expired_access, old_refresh = await log_in(one)
        clock.now += ACCESS_MAX_AGE + 1

        async def tab(index: int) -> Any:
            http = (one, two)[index % 2]
            return await http.get(
                "/me", headers={"cookie": f"access={expired_access}; refresh={old_refresh}"}
            )

        responses = await asyncio.gather(*(tab(index) for index in range(RACE_SIZE)))

    statuses = Counter(response.status_code for response in responses)
    refresh_cookies = Counter(refresh_set_cookie(response) for response in responses)
    print(
        f"\n[{request.node.callspec.id}] race of {RACE_SIZE}: statuses {dict(statuses)}, "
        f"distinct refresh Set-Cookie {len(refresh_cookies)}, peak in flight {[a.peak for a in apps]}"
    )
    assert apps[0].peak > 1
    assert apps[1].peak > 1
    assert statuses == {200: RACE_SIZE}  # every response 2xx: no 401, no 5xx
    assert len(refresh_cookies) == 1  # every response sets the very same refresh cookie
    (winner,) = refresh_cookies
    assert winner is not None
    assert all(set_cookies(response)["access"] for response in responses)  # nothing expired
    assert hooks.of("on_reuse") == []
    assert hooks.of("on_error") == []

    successor = winner.split(";", 1)[0].split("=", 1)[1]
    async with client(apps[1]) as http:
        clock.now += ACCESS_MAX_AGE + GRACE + 1
        # the shared successor works afterwards, on either instance
        response = await call(http, "GET", "/me", refresh=successor)
        assert response.status_code == 200
        latest = set_cookies(response)["refresh"]
        # a replay of the old refresh token after the grace window revokes the whole family
        response = await call(http, "GET", "/me", refresh=old_refresh)
        assert response.status_code == 401
        assert len(hooks.of("on_reuse")) == 1
        assert (await call(http, "GET", "/me", refresh=latest)).status_code == 401


async def test_racing_requests_in_one_instance_with_a_memory_store() -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=MemoryStore(), rotation_grace=5)
    async with client(app) as http:
        expired_access, old_refresh = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        responses = await asyncio.gather(
            *(
                http.get("/me", headers={"cookie": f"access={expired_access}; refresh={old_refresh}"})
                for _ in range(50)
            )
        )
    assert {response.status_code for response in responses} == {200}
    assert len({refresh_set_cookie(response) for response in responses}) == 1


def test_plugin_rotation_grace_and_client_key_reach_the_store() -> None:
    access, refresh, _ = make_configs()
    plugin = JWTSessionPlugin(
        access=access,
        refresh=refresh,
        store=MemoryStore(),
        rotation_grace=2.5,
        rotation_client_key=lambda connection: "fixed",
    )
    assert plugin.refresh_rotation is not None
    assert plugin.refresh_rotation.rotation_grace == 2.5
    assert plugin.refresh_rotation.client_key(None) == "fixed"  # type: ignore[arg-type]


async def test_a_thief_with_the_victims_user_agent_gets_no_successor(store: Any) -> None:
    """The grace window's client key is the HttpOnly device cookie, not the (public) User-Agent:
    a stolen, already rotated refresh token replayed with the victim's User-Agent is reuse."""
    access, refresh, clock = make_configs()
    hooks = Hooks(refresh)
    app = make_app(access, refresh, store=store)
    async with client(app, "browser-1") as user, client(app, "browser-1") as thief:
        _, token = await log_in(user)
        clock.now += ACCESS_MAX_AGE + 1
        successor = set_cookies(await call(user, "GET", "/me", refresh=token))["refresh"]
        thief.cookies.clear()
        replay = await thief.request("GET", "/me", headers={"cookie": f"refresh={token}"})
        assert replay.status_code == 401
        assert "refresh=" + successor not in " ".join(replay.headers.get_list("set-cookie"))
        assert len(hooks.of("on_reuse")) == 1
        assert (await call(user, "GET", "/me", refresh=successor)).status_code == 401  # family revoked


def _lines(response: Any) -> list[str]:
    return list(response.headers.get_list("set-cookie"))


async def test_the_device_cookie_goes_with_the_refresh_cookie(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        http.cookies.clear()
        login = await http.post("/login")
        lines = {
            parse_set_cookie(line)[0]: parse_set_cookie(line) for line in login.headers.get_list("set-cookie")
        }
        _, device, attributes = lines["refresh-device"]
        assert len(device) == 43
        assert attributes["httponly"] is True
        assert attributes["secure"] is True
        for name in ("path", "expires", "samesite"):
            assert attributes[name] == lines["refresh"][2][name], name
        clock.now += ACCESS_MAX_AGE + 1
        cookie = f"refresh={lines['refresh'][1]}; refresh-device={device}"
        rotated = await http.get("/me", headers={"cookie": cookie})
        assert rotated.status_code == 200
        assert (
            parse_set_cookie(
                next(
                    line
                    for line in rotated.headers.get_list("set-cookie")
                    if line.startswith("refresh-device=")
                )
            )[1]
            == device
        )  # one browser keeps one device cookie
        out = await http.post("/logout", headers={"cookie": cookie})
        assert "refresh-device=; Max-Age=0" in " ".join(out.headers.get_list("set-cookie"))


def test_a_custom_client_key_replaces_the_device_cookie() -> None:
    access, refresh, _ = make_configs()
    plugin = JWTSessionPlugin(
        access=access, refresh=refresh, store=MemoryStore(), rotation_client_key=lambda connection: "fixed"
    )
    assert plugin.session_store is not None
    assert plugin.session_store.device_cookie is None
