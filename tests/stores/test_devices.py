"""Device sessions on the in-memory store and on real Redis and Valkey servers: the list, the
current flag, ending one or all the others, the ways a family ends, the bounded index, labels,
and two app instances sharing the store."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import (
    ConfigurationError,
    DeviceSession,
    DeviceSessions,
    JWTSessionPlugin,
    describe_user_agent,
    list_device_sessions,
    revoke_device_session,
    revoke_other_device_sessions,
)
from tests.helpers import decrypt_jwe, jws_claims, token_header
from tests.stores.common import ACCESS_MAX_AGE, REFRESH_KEY, call, log_in, make_configs, set_cookies
from tests.stores.devices_support import (
    CHROME_WINDOWS,
    FIREFOX_LINUX,
    SAFARI_IPHONE,
    browser,
    device_app,
    device_id,
    devices,
    sign_in,
    store_values,
)

REFRESH_LIFETIME = 3600 + 1  # the refresh max_age ("1h"), the leeway (0) and one second


async def test_a_login_is_one_device_session_flagged_current(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop:
        access_token, refresh_token = await sign_in(laptop)
        (listed,) = await devices(laptop, access_token)
        assert listed == {
            "id": device_id(access_token),
            "label": "Firefox on Linux",
            "createdAt": int(clock.now) * 1000,
            "lastRefreshedAt": int(clock.now) * 1000,
            "current": True,
        }
        # the id is the family's one-way handle: never the refresh token's jti or its family
        header = token_header(refresh_token)
        claims = decrypt_jwe(refresh_token, REFRESH_KEY, alg=header["alg"], enc=header["enc"])[1]
        assert listed["id"] != claims["jti"]
        assert "fam" not in jws_claims(access_token)


async def test_each_device_sees_every_session_and_itself_as_current(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop, browser(app, SAFARI_IPHONE) as phone:
        laptop_access, _ = await sign_in(laptop)
        phone_access, _ = await sign_in(phone)
        async with browser(app, CHROME_WINDOWS) as other_user:
            await sign_in(other_user, user="grace")  # another subject's devices are not listed
        for http, token, label in (
            (laptop, laptop_access, "Firefox on Linux"),
            (phone, phone_access, "Safari on iOS"),
        ):
            listed = await devices(http, token)
            assert {item["label"] for item in listed} == {"Firefox on Linux", "Safari on iOS"}
            (current,) = [item for item in listed if item["current"]]
            assert current["label"] == label
            assert current["id"] == device_id(token)


async def test_the_refresh_session_names_the_current_device_when_the_access_one_cannot(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop:
        access_token, refresh_token = await log_in(laptop)  # access written first: no device id in it
        assert "fid" not in jws_claims(access_token)
        without = await call(laptop, "GET", "/sessions", access=access_token)
        assert [item["current"] for item in without.json()] == [False]
        both = await call(laptop, "GET", "/sessions", access=access_token, refresh=refresh_token)
        assert [item["current"] for item in both.json()] == [True]


async def test_a_rotation_is_the_last_refresh_of_the_same_device_session(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop:
        access_token, refresh_token = await sign_in(laptop)
        (before,) = await devices(laptop, access_token)
        clock.now += ACCESS_MAX_AGE + 30
        rotated = await call(laptop, "GET", "/me", refresh=refresh_token)
        assert rotated.status_code == 200
        new_access = set_cookies(rotated)["access"]
        assert device_id(new_access) == before["id"]
        (after,) = await devices(laptop, new_access)
        assert after["createdAt"] == before["createdAt"]
        assert after["lastRefreshedAt"] == int(clock.now) * 1000 > before["lastRefreshedAt"]
        assert after["current"]


async def test_a_family_from_before_device_sessions_is_listed_from_its_next_rotation(store: Any) -> None:
    access, refresh, clock = make_configs()
    before = device_app(access, refresh, store=store, devices=False)  # the app before the upgrade
    after = device_app(access, refresh, store=store)
    async with browser(before) as old, browser(after, SAFARI_IPHONE) as new:
        _, refresh_token = await sign_in(old)
        assert await list_device_sessions(after, "ada") == []
        clock.now += ACCESS_MAX_AGE + 1
        rotated = await call(new, "GET", "/me", refresh=refresh_token)
        assert rotated.status_code == 200
        (listed,) = await devices(new, set_cookies(rotated)["access"])
        assert listed["current"]
        assert listed["label"] == "Safari on iOS"  # what the rotating request said
        assert listed["lastRefreshedAt"] == int(clock.now) * 1000


async def test_changing_the_sessions_data_keeps_the_device_session(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop:
        access_token, refresh_token = await sign_in(laptop)
        saved = await call(laptop, "POST", "/profile", access=access_token, refresh=refresh_token)
        assert saved.status_code == 200
        new_access = set_cookies(saved)["access"]
        assert jws_claims(new_access)["theme"] == "dark"
        assert "fam" not in jws_claims(new_access)  # copied from refresh.data, dropped on the way
        assert device_id(new_access) == device_id(access_token)
        assert len(await devices(laptop, new_access)) == 1


async def test_ending_one_device_refuses_its_access_and_its_next_refresh(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop, browser(app, SAFARI_IPHONE) as phone:
        laptop_access, laptop_refresh = await sign_in(laptop)
        phone_access, phone_refresh = await sign_in(phone)
        ended = await call(laptop, "DELETE", f"/sessions/{device_id(phone_access)}", access=laptop_access)
        assert ended.status_code == 204
        assert set_cookies(ended) == {}  # the laptop stays logged in
        assert [item["label"] for item in await devices(laptop, laptop_access)] == ["Firefox on Linux"]
        # the phone's access session carries the device id: refused at once, everywhere
        assert (await call(phone, "GET", "/me", access=phone_access)).status_code == 401
        clock.now += ACCESS_MAX_AGE + 1  # and its refresh session cannot bring it back
        refused = await call(phone, "GET", "/me", refresh=phone_refresh)
        assert refused.status_code == 401
        assert set_cookies(refused)["refresh"] == ""
        assert (await call(laptop, "GET", "/me", refresh=laptop_refresh)).status_code == 200


async def test_only_ones_own_device_sessions_can_be_ended(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as ada, browser(app, CHROME_WINDOWS) as grace:
        ada_access, _ = await sign_in(ada)
        grace_access, _ = await sign_in(grace, user="grace")
        for unknown in (device_id(grace_access), "no-such-device", "x" * 5000, "%2e%2e"):
            response = await call(ada, "DELETE", f"/sessions/{unknown}", access=ada_access)
            assert response.status_code == 404
        assert (await call(grace, "GET", "/me", access=grace_access)).status_code == 200
        assert len(await devices(grace, grace_access)) == 1


async def test_ending_the_current_device_logs_it_out(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop:
        access_token, refresh_token = await sign_in(laptop)
        own = device_id(access_token)
        ended = await call(laptop, "DELETE", f"/sessions/{own}", access=access_token, refresh=refresh_token)
        assert ended.status_code == 204
        assert set_cookies(ended) == {"access": "", "refresh": ""}
        assert (await call(laptop, "GET", "/me", refresh=refresh_token)).status_code == 401


async def test_ending_every_other_device(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with (
        browser(app, FIREFOX_LINUX) as laptop,
        browser(app, SAFARI_IPHONE) as phone,
        browser(app, CHROME_WINDOWS) as desktop,
    ):
        laptop_access, _ = await sign_in(laptop)
        others = [await sign_in(phone), await sign_in(desktop)]
        response = await call(laptop, "POST", "/sessions/revoke-others", access=laptop_access)
        assert response.status_code == 200
        assert response.json() == {"revoked": 2}
        (kept,) = await devices(laptop, laptop_access)
        assert kept["id"] == device_id(laptop_access)
        assert kept["current"]
        again = await call(laptop, "POST", "/sessions/revoke-others", access=laptop_access)
        assert again.json() == {"revoked": 0}
        clock.now += ACCESS_MAX_AGE + 1
        for http, (_, other_refresh) in zip((phone, desktop), others, strict=True):
            assert (await call(http, "GET", "/me", refresh=other_refresh)).status_code == 401


async def _labels(app: Any, sub: str = "ada") -> list[str]:
    return [item.label for item in await list_device_sessions(app, sub)]


async def test_logout_ends_the_device_session(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop, browser(app, SAFARI_IPHONE) as phone:
        await sign_in(laptop)
        phone_access, phone_refresh = await sign_in(phone)
        assert sorted(await _labels(app)) == ["Firefox on Linux", "Safari on iOS"]
        out = await call(phone, "POST", "/logout", access=phone_access, refresh=phone_refresh)
        assert out.status_code == 200
        assert await _labels(app) == ["Firefox on Linux"]


async def test_a_detected_reuse_ends_the_device_session(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop, browser(app, SAFARI_IPHONE) as phone:
        await sign_in(laptop)
        _, phone_refresh = await sign_in(phone)
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(phone, "GET", "/me", refresh=phone_refresh)).status_code == 200  # rotated
        assert len(await _labels(app)) == 2
        clock.now += 60  # past the grace window: the rotated token again is reuse
        assert (await call(phone, "GET", "/me", refresh=phone_refresh)).status_code == 401
        assert await _labels(app) == ["Firefox on Linux"]


async def test_revoke_subject_ends_every_device_session(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app, FIREFOX_LINUX) as laptop, browser(app, SAFARI_IPHONE) as phone:
        laptop_access, _ = await sign_in(laptop)
        await sign_in(phone)
        assert (await call(laptop, "POST", "/logout-everywhere", access=laptop_access)).status_code == 200
        assert await _labels(app) == []
        clock.now += 1  # a login after the revocation's second starts afresh
        fresh_access, _ = await sign_in(phone)
        assert [item["label"] for item in await devices(phone, fresh_access)] == ["Safari on iOS"]


async def test_the_index_is_bounded_the_oldest_device_is_ended(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store, devices=DeviceSessions(max_per_subject=3))
    async with browser(app) as laptop:
        logins = []
        for _ in range(5):
            logins.append(await sign_in(laptop))
            clock.now += 5
        listed = await devices(laptop, logins[-1][0])
        assert [item["id"] for item in listed] == [device_id(token) for token, _ in reversed(logins[2:])]
        clock.now += ACCESS_MAX_AGE + 1
        statuses = [(await call(laptop, "GET", "/me", refresh=token)).status_code for _, token in logins]
        assert statuses == [401, 401, 200, 200, 200]  # an unlisted family never stays alive


async def test_entries_expire_with_their_families(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop:
        first_access, _ = await sign_in(laptop)
        assert await store.expires_in("jwtsession:devices:refresh:ada") in (
            REFRESH_LIFETIME - 1,
            REFRESH_LIFETIME,
        )
        clock.now += 3000
        fresh_access, _ = await sign_in(laptop)
        assert len(await devices(laptop, fresh_access)) == 2
        clock.now += 700  # the first family's last token has lapsed: its entry is gone
        (left,) = await list_device_sessions(app, "ada")
        assert left.id == device_id(fresh_access)
        assert left.id != device_id(first_access)
        clock.now += 3000
        assert await list_device_sessions(app, "ada") == []


async def test_the_label_hook_decides_the_label(store: Any) -> None:
    async def label(connection: Any) -> str:
        agent = describe_user_agent(connection.headers.get("user-agent"))
        return f"{agent} near {connection.client.host}"  # the app's choice to keep an address

    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store, devices=DeviceSessions(label=label))
    async with browser(app, SAFARI_IPHONE, ip="198.51.100.23") as phone:
        access_token, _ = await sign_in(phone)
        assert [item["label"] for item in await devices(phone, access_token)] == [
            "Safari on iOS near 198.51.100.23"
        ]

    access, refresh, _ = make_configs()
    quiet = device_app(access, refresh, store=store, devices=DeviceSessions(label=lambda connection: None))
    async with browser(quiet, "curl/8.5.0") as script:
        access_token, _ = await sign_in(script, user="grace")
        assert [item["label"] for item in await devices(script, access_token)] == ["curl"]


async def test_no_address_and_no_raw_user_agent_is_stored_by_default(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = device_app(access, refresh, store=store)
    agent = FIREFOX_LINUX + " marker-7f3a"
    async with browser(app, agent, ip="203.0.113.77") as laptop:
        _, refresh_token = await sign_in(laptop)
        clock.now += ACCESS_MAX_AGE + 1
        rotated = await call(laptop, "GET", "/me", refresh=refresh_token)
        assert rotated.status_code == 200
        fresh_access = set_cookies(rotated)["access"]
        assert [item["label"] for item in await devices(laptop, fresh_access)] == ["Firefox on Linux"]
    stored = b"".join(await store_values(store))
    assert b"Firefox on Linux" in stored  # the index is there ...
    assert b"203.0.113" not in stored  # ... without the address
    assert b"marker-7f3a" not in stored
    assert b"rv:128.0" not in stored


async def test_two_instances_share_the_device_sessions(store: Any) -> None:
    access, refresh, clock = make_configs()
    one, two = device_app(access, refresh, store=store), device_app(access, refresh, store=store)
    async with browser(one, FIREFOX_LINUX) as laptop, browser(two, SAFARI_IPHONE) as phone:
        laptop_access, laptop_refresh = await sign_in(laptop)
        phone_access, _ = await sign_in(phone)
        assert len(await devices(phone, phone_access)) == 2  # instance two sees instance one's login
        ended = await call(phone, "DELETE", f"/sessions/{device_id(laptop_access)}", access=phone_access)
        assert ended.status_code == 204
        assert (await call(laptop, "GET", "/me", access=laptop_access)).status_code == 401  # on one
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(laptop, "GET", "/me", refresh=laptop_refresh)).status_code == 401


async def test_the_functions_work_from_the_app_alone(store: Any) -> None:
    access, refresh, _ = make_configs()
    app = device_app(access, refresh, store=store)
    async with browser(app) as laptop, browser(app, SAFARI_IPHONE) as phone:
        laptop_access, _ = await sign_in(laptop)
        phone_access, _ = await sign_in(phone)
        listed = await list_device_sessions(app, "ada", current=device_id(laptop_access))
        assert all(isinstance(item, DeviceSession) for item in listed)
        assert {item.id: item.current for item in listed} == {
            device_id(laptop_access): True,
            device_id(phone_access): False,
        }
        assert await revoke_device_session(app, "ada", device_id(phone_access))
        assert not await revoke_device_session(app, "ada", device_id(phone_access))
        assert await revoke_other_device_sessions(app, "ada", keep=None) == 1
        assert await list_device_sessions(app, "ada") == []
        with pytest.raises(ValueError, match="sub"):
            await list_device_sessions(app, "")


def test_device_sessions_need_rotation_and_can_be_turned_off() -> None:
    access, refresh, _ = make_configs()
    with pytest.raises(ConfigurationError, match="rotation"):
        JWTSessionPlugin(access=access, refresh=refresh, devices=DeviceSessions())
    with pytest.raises(ConfigurationError, match="DeviceSessions"):
        JWTSessionPlugin(access=access, refresh=refresh, devices="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="max_per_subject"):
        DeviceSessions(max_per_subject=0)
    with pytest.raises(ConfigurationError, match="label"):
        DeviceSessions(label="Firefox")  # type: ignore[arg-type]
    off = device_app(access, refresh, store=MemoryStore(), devices=False)
    assert off.plugins.get(JWTSessionPlugin).runtime.devices is None
    with TestClient(off, base_url="https://testserver.local") as http:
        token = set_cookies(http.post("/device-login"))["access"]
        assert "fid" not in jws_claims(token)
