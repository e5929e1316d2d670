"""The lifetime policy of refresh families (``idle_timeout``, ``absolute_lifetime``), on every store
(in memory, a real Redis server, a real Valkey server) across two app instances sharing it, and
without a store, where the tokens carry the absolute lifetime and ``max_age`` is the idle timeout."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.exceptions import ImproperlyConfiguredException
from litestar.stores.memory import MemoryStore

from litestar_jwtsession import JWTSessionPlugin
from litestar_jwtsession.testing import SessionClock
from tests.helpers import http_date
from tests.stores.common import Hooks, call, client, log_in, set_cookies
from tests.stores.lifetime_common import (
    access_claims,
    cookie_expires,
    lifetime_app,
    lifetime_configs,
    refresh_claims,
)

IDLE = "ERR_SESSION_IDLE_TIMEOUT"
OVER = "ERR_SESSION_LIFETIME_EXCEEDED"


async def test_a_family_idle_for_the_timeout_is_over_on_every_instance(store: Any) -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)  # access 60 s, refresh 1 h
    hooks = Hooks(access, refresh)
    one, two = (lifetime_app(access, refresh, store=store, idle_timeout="10m") for _ in range(2))
    async with client(one) as first, client(two) as second:
        _, token = await log_in(first)
        for instance in (second, first):  # refreshed every 9 minutes, alternately: alive
            clock.advance("9m")
            response = await call(instance, "GET", "/me", refresh=token)
            assert response.status_code == 200
            token = set_cookies(response)["refresh"]  # rotated
        assert hooks.of("on_expire", "refresh") == []

        clock.advance("10m")  # not refreshed for the whole idle timeout; the token itself is valid
        assert refresh_claims(token)["exp"] > clock.now
        hooks.calls.clear()
        response = await call(second, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_expire", "refresh") == [("on_expire", "refresh", IDLE)]
        assert hooks.of("on_error") == []
        # the other instance says the same
        response = await call(first, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert hooks.of("on_expire", "refresh")[-1] == ("on_expire", "refresh", IDLE)


async def test_a_rotating_family_ends_at_its_absolute_lifetime(store: Any) -> None:
    clock = SessionClock()
    born = int(clock.now)
    end = born + 3 * 3600
    access, refresh = lifetime_configs(clock)  # refresh 1 h: it would rotate for ever
    hooks = Hooks(access, refresh)
    apps = [lifetime_app(access, refresh, store=store, absolute_lifetime="3h") for _ in range(2)]
    async with client(apps[0]) as first, client(apps[1]) as second:
        _, token = await log_in(first)
        assert refresh_claims(token)["fat"] == born
        for step in range(1, 4):  # every 50 minutes, on alternate instances
            clock.advance("50m")
            response = await call((first, second)[step % 2], "GET", "/me", refresh=token)
            assert response.status_code == 200
            cookies = set_cookies(response)
            token = cookies["refresh"]
            claims = refresh_claims(token)
            assert claims["fat"] == born  # the family's birth, carried through every rotation
            assert claims["exp"] == min(int(clock.now) + 3600, end)  # never beyond the end
            assert cookie_expires(response, "refresh") == http_date(claims["exp"])
            assert access_claims(cookies["access"])["fat"] == born
            assert access_claims(cookies["access"])["exp"] <= end
        assert claims["exp"] == end  # the last rotation, at 2 h 30 min, was cut short

        clock.set(end)
        hooks.calls.clear()
        response = await call(second, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_expire", "refresh") == [("on_expire", "refresh", OVER)]
        assert hooks.of("on_error") == []


async def test_a_family_from_before_the_policy_is_bounded_from_its_first_refresh_under_it(
    store: Any,
) -> None:
    """Refresh tokens issued before the policy carry no ``fat``: the first rotation under it takes
    the birth their token shows (its ``iat``), and the family ends an absolute lifetime later."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)
    hooks = Hooks(refresh)
    before = lifetime_app(access, refresh, store=store)
    after = [lifetime_app(access, refresh, store=store, absolute_lifetime="2h") for _ in range(2)]
    async with client(before) as old, client(after[0]) as first, client(after[1]) as second:
        _, token = await log_in(old)
        clock.advance("50m")
        token = set_cookies(await call(old, "GET", "/me", refresh=token))["refresh"]  # no fat yet
        assert "fat" not in refresh_claims(token)
        rotated_at = int(clock.now)
        clock.advance("50m")
        response = await call(first, "GET", "/me", refresh=token)  # its first refresh under the policy
        token = set_cookies(response)["refresh"]
        assert refresh_claims(token)["fat"] == rotated_at  # the birth its token shows
        clock.set(rotated_at + 2 * 3600)
        response = await call(second, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert hooks.of("on_expire", "refresh")[-1] == ("on_expire", "refresh", OVER)


async def test_a_racing_tab_near_the_idle_timeout_still_gets_the_successor(store: Any) -> None:
    """The store's record of the last refresh, not the replayed token's age, decides: a tab
    replaying the token another tab just rotated (within the grace window) is served the same
    successor although that token alone looks idle."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)
    hooks = Hooks(refresh)
    apps = [lifetime_app(access, refresh, store=store, idle_timeout="10m") for _ in range(2)]
    async with client(apps[0]) as first, client(apps[1]) as second:
        _, token = await log_in(first)
        clock.advance(600 - 5)  # the first tab refreshes just in time
        winner = await call(first, "GET", "/me", refresh=token)
        assert winner.status_code == 200
        clock.advance(8)  # the slower tab, within the grace window, 603 s after its token's iat
        late = await call(second, "GET", "/me", refresh=token)
        assert late.status_code == 200
        assert set_cookies(late)["refresh"] == set_cookies(winner)["refresh"]
        assert hooks.of("on_expire") == hooks.of("on_error") == []


async def test_an_access_session_that_slides_keeps_its_family_from_going_idle(store: Any) -> None:
    """Activity is activity: an access session sliding on every request never needs the refresh
    fallback, and its slides count as refreshes of its family (``seen`` in the store)."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_max_age="5m", access_slide=0.5)
    apps = [lifetime_app(access, refresh, store=store, idle_timeout="10m") for _ in range(2)]
    async with client(apps[0]) as first, client(apps[1]) as second:
        access_token, refresh_token = await log_in(first)
        clock.advance("6m")  # the access session lapsed: one refresh, whose access carries fid
        response = await call(first, "GET", "/me", refresh=refresh_token)
        cookies = set_cookies(response)
        access_token, refresh_token = cookies["access"], cookies["refresh"]
        assert "fid" in access_claims(access_token)
        for step in range(6):  # 18 minutes of requests every 3 minutes: the access session slides
            clock.advance("3m")
            response = await call((first, second)[step % 2], "GET", "/me", access=access_token)
            assert response.status_code == 200
            access_token = set_cookies(response)["access"]
        clock.advance("8m")  # the access session lapsed; 8 minutes after the last slide
        response = await call(second, "GET", "/me", refresh=refresh_token)
        assert response.status_code == 200  # 26 minutes after the last rotation, yet not idle


async def test_without_a_store_the_absolute_lifetime_holds_through_slides() -> None:
    """No store, no rotation: the refresh session slides, and its token carries the login's
    birth, so the absolute lifetime still ends it; the idle timeout is its ``max_age``."""
    clock = SessionClock()
    born = int(clock.now)
    end = born + 2 * 3600
    access, refresh = lifetime_configs(clock, refresh_slide=0.5)  # refresh 1 h, slides after 30 min
    hooks = Hooks(access, refresh)
    apps = [lifetime_app(access, refresh, absolute_lifetime="2h") for _ in range(2)]
    async with client(apps[0]) as first, client(apps[1]) as second:
        _, token = await log_in(first)
        clock.advance("40m")
        response = await call(second, "GET", "/me", refresh=token)
        assert response.status_code == 200
        token = set_cookies(response)["refresh"]  # slid: a fresh exp
        assert refresh_claims(token)["exp"] == born + 40 * 60 + 3600
        assert refresh_claims(token)["fat"] == born
        clock.advance("50m")  # 90 min: past the slide point again; the new exp is cut at the end
        response = await call(first, "GET", "/me", refresh=token)
        token = set_cookies(response)["refresh"]
        assert refresh_claims(token)["exp"] == end
        assert cookie_expires(response, "refresh") == http_date(end)
        clock.advance("25m")  # past the slide point, but a slide gains nothing: none
        response = await call(second, "GET", "/me", refresh=token)
        assert response.status_code == 200
        assert set(set_cookies(response)) == {"access"}
        assert access_claims(set_cookies(response)["access"])["exp"] == born + 115 * 60 + 60

        clock.set(end)
        hooks.calls.clear()
        response = await call(first, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_expire", "refresh") == [("on_expire", "refresh", OVER)]


async def test_without_a_store_a_token_from_before_the_policy_is_refused_at_the_end() -> None:
    """A token minted before the policy (no ``fat``, an ``exp`` beyond the end) is refused once
    its login is older than the absolute lifetime, although its ``exp`` has not come."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)
    hooks = Hooks(refresh)
    async with (
        client(lifetime_app(access, refresh)) as old,
        client(lifetime_app(access, refresh, absolute_lifetime="30m")) as strict,
    ):
        _, token = await log_in(old)
        clock.advance("29m")
        assert (await call(strict, "GET", "/me", refresh=token)).status_code == 200
        clock.advance("1m")
        response = await call(strict, "GET", "/me", refresh=token)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_expire", "refresh")[-1] == ("on_expire", "refresh", OVER)
        assert (await call(old, "GET", "/me", refresh=token)).status_code == 200  # that app has no policy


async def test_without_a_store_the_idle_timeout_is_max_age() -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)
    hooks = Hooks(refresh)
    async with client(lifetime_app(access, refresh, absolute_lifetime="1D")) as http:
        _, token = await log_in(http)
        clock.advance("59m")
        assert (await call(http, "GET", "/me", refresh=token)).status_code == 200
        clock.advance("1m")  # never rotated without a store: its max_age is up
        assert (await call(http, "GET", "/me", refresh=token)).status_code == 401
        assert hooks.of("on_expire", "refresh") == [("on_expire", "refresh", "ERR_JWT_EXPIRED")]


async def test_login_true_starts_a_new_login_and_other_writes_keep_its_start() -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock)
    async with client(lifetime_app(access, refresh, absolute_lifetime="1D")) as http:
        access_token, refresh_token = await log_in(http)
        born = int(clock.now)
        clock.advance("10m")
        # the login route of tests.stores.common: update(..., replace=True) over a valid session
        response = await call(http, "POST", "/login", access=access_token, refresh=refresh_token)
        cookies = set_cookies(response)
        assert access_claims(cookies["access"])["fat"] == born
        assert refresh_claims(cookies["refresh"])["fat"] == born
        assert refresh_claims(cookies["refresh"])["exp"] == int(clock.now) + 3600
        response = await call(http, "POST", "/relogin", access=cookies["access"], refresh=cookies["refresh"])
        cookies = set_cookies(response)
        assert access_claims(cookies["access"])["fat"] == int(clock.now)  # the user proved who they are
        assert refresh_claims(cookies["refresh"])["fat"] == int(clock.now)


def test_the_options_take_durations_and_refuse_what_cannot_work() -> None:
    access, refresh = lifetime_configs(SessionClock())
    plugin = JWTSessionPlugin(
        access=access, refresh=refresh, store=MemoryStore(), idle_timeout="1D", absolute_lifetime="30D"
    )
    lifetime = plugin.runtime.lifetime
    assert lifetime is not None
    assert (lifetime.idle_timeout, lifetime.absolute_lifetime) == (86400, 30 * 86400)
    assert lifetime.sessions == {"access", "refresh"}
    assert plugin.session_store is not None
    assert plugin.session_store.lifetime is not None
    assert JWTSessionPlugin(access=access, refresh=refresh).runtime.lifetime is None
    with pytest.raises(ImproperlyConfiguredException, match="idle_timeout needs refresh-token rotation"):
        JWTSessionPlugin(access=access, refresh=refresh, idle_timeout="1D")  # no store
    with pytest.raises(ImproperlyConfiguredException, match="idle_timeout needs refresh-token rotation"):
        JWTSessionPlugin(
            access=access, refresh=refresh, store=MemoryStore(), rotate_refresh=False, idle_timeout=60
        )
    with pytest.raises(ImproperlyConfiguredException, match="absolute_lifetime"):
        JWTSessionPlugin(access=access, refresh=refresh, absolute_lifetime="10 minutes")
    with pytest.raises(ImproperlyConfiguredException, match="idle_timeout"):
        JWTSessionPlugin(access=access, refresh=refresh, store=MemoryStore(), idle_timeout=0)
    with pytest.raises(ImproperlyConfiguredException, match="bound the access and refresh sessions"):
        JWTSessionPlugin(sessions=[access], absolute_lifetime="1h")
