"""Device sessions under concurrent logins and rotations (``asyncio.gather`` through
``httpx.ASGITransport``, which really interleaves the requests), spread over two app instances
sharing the store: on the in-memory store and on real Redis and Valkey servers."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar_jwtsession import DeviceSessions, list_device_sessions
from tests.stores.common import ACCESS_MAX_AGE, call, make_configs, set_cookies
from tests.stores.devices_support import browser, device_app, device_id, sign_in

BROWSERS = 24


def _agent(index: int) -> str:
    return f"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.{index}"


async def test_concurrent_logins_are_all_listed(store: Any) -> None:
    access, refresh, _ = make_configs()
    apps = [device_app(access, refresh, store=store) for _ in range(2)]
    clients = [browser(apps[index % 2], _agent(index)) for index in range(BROWSERS)]
    try:
        logins = await asyncio.gather(*(sign_in(http) for http in clients))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    listed = await list_device_sessions(apps[0], "ada")
    assert sorted(item.id for item in listed) == sorted(device_id(token) for token, _ in logins)
    assert len(listed) == BROWSERS


async def test_concurrent_logins_beyond_the_cap_keep_exactly_the_cap_alive(store: Any) -> None:
    access, refresh, clock = make_configs()
    settings = DeviceSessions(max_per_subject=5)
    apps = [device_app(access, refresh, store=store, devices=settings) for _ in range(2)]
    clients = [browser(apps[index % 2], _agent(index)) for index in range(BROWSERS)]
    try:
        logins = await asyncio.gather(*(sign_in(http) for http in clients))
        listed = {item.id for item in await list_device_sessions(apps[1], "ada")}
        assert len(listed) == 5
        clock.now += ACCESS_MAX_AGE + 1
        refreshes = await asyncio.gather(
            *(
                call(http, "GET", "/me", refresh=token)
                for http, (_, token) in zip(clients, logins, strict=True)
            )
        )
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    alive = {
        device_id(access_token)
        for (access_token, _), response in zip(logins, refreshes, strict=True)
        if response.status_code == 200
    }
    refused = [response for response in refreshes if response.status_code != 200]
    assert alive == listed  # every listed family refreshes, every other one was ended
    assert {response.status_code for response in refused} == {401}
    assert len(refused) == BROWSERS - 5


async def test_concurrent_rotations_and_logins_keep_every_entry(store: Any) -> None:
    access, refresh, clock = make_configs()
    apps = [device_app(access, refresh, store=store) for _ in range(2)]
    half = BROWSERS // 2
    clients = [browser(apps[index % 2], _agent(index)) for index in range(BROWSERS)]
    try:
        first = await asyncio.gather(*(sign_in(http) for http in clients[:half]))
        logged_in_at = int(clock.now) * 1000
        clock.now += ACCESS_MAX_AGE + 1
        rotations = [
            call(http, "GET", "/me", refresh=token)
            for http, (_, token) in zip(clients[:half], first, strict=True)
        ]
        results = await asyncio.gather(*rotations, *(sign_in(http) for http in clients[half:]))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    rotated, later = results[:half], results[half:]
    assert {response.status_code for response in rotated} == {200}
    listed = {item.id: item for item in await list_device_sessions(apps[0], "ada")}
    assert len(listed) == BROWSERS
    now_ms = int(clock.now) * 1000
    for (access_token, _), response in zip(first, rotated, strict=True):
        entry = listed[device_id(access_token)]
        assert device_id(set_cookies(response)["access"]) == entry.id  # same family, same device
        assert (entry.created_at, entry.last_refreshed_at) == (logged_in_at, now_ms)
    for access_token, _ in later:
        assert listed[device_id(access_token)].created_at == now_ms


async def test_racing_tabs_of_one_browser_are_one_device_session(store: Any) -> None:
    access, refresh, clock = make_configs()
    apps = [device_app(access, refresh, store=store) for _ in range(2)]
    async with browser(apps[0]) as tab_one, browser(apps[1]) as tab_two:
        access_token, refresh_token = await sign_in(tab_one)
        clock.now += ACCESS_MAX_AGE + 1
        responses = await asyncio.gather(
            *(call((tab_one, tab_two)[index % 2], "GET", "/me", refresh=refresh_token) for index in range(20))
        )
    assert {response.status_code for response in responses} == {200}
    assert len({set_cookies(response)["refresh"] for response in responses}) == 1
    (entry,) = await list_device_sessions(apps[0], "ada")
    assert entry.id == device_id(access_token)
    assert entry.last_refreshed_at == int(clock.now) * 1000
