"""Sliding expiry (``slide_after``): a session read past that fraction of its lifetime is
re-issued on that response, for the access and the refresh session, without a store and on every
store (in memory, a real Redis server, a real Valkey server), within the absolute lifetime, and
never when an ``on_slide`` hook vetoes it."""

from __future__ import annotations

from typing import Any

from litestar_jwtsession import HookEvent
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

GRACE = 10


def _kwargs(store: Any, **options: Any) -> dict[str, Any]:
    return {"store": store, **options} if store is not None else options


async def test_the_access_session_slides_past_the_fraction_and_not_before(store_or_none: Any) -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_slide=0.5)  # 60 s: slides from 30 s on
    hooks = Hooks(access)
    async with client(lifetime_app(access, refresh, **_kwargs(store_or_none))) as http:
        token, _ = await log_in(http)
        issued = access_claims(token)
        for seconds in (10, 29):  # before the slide point (the second read comes from the cache)
            clock.set(issued["iat"] + seconds)
            response = await call(http, "GET", "/me", access=token)
            assert response.status_code == 200
            assert set_cookies(response) == {}
        hooks.calls.clear()
        clock.set(issued["iat"] + 30)
        response = await call(http, "GET", "/me", access=token)
        assert response.status_code == 200
        slid = set_cookies(response)["access"]
        claims = access_claims(slid)
        assert claims["iat"] == issued["iat"] + 30
        assert claims["exp"] == issued["iat"] + 90  # a fresh exp
        assert claims["jti"] != issued["jti"]  # a new jti, as update() mints
        assert response.json()["jti"] == claims["jti"]  # the handler sees the re-issued session
        assert {key: claims[key] for key in ("sub", "scope")} == {"sub": "ada", "scope": ["read"]}
        assert cookie_expires(response, "access") == http_date(claims["exp"])
        assert [call[0] for call in hooks.of("on_update")] == ["on_update"]
        # the new token is far from its own slide point: nothing more to do
        clock.advance(1)
        response = await call(http, "GET", "/me", access=slid)
        assert response.status_code == 200
        assert set_cookies(response) == {}


async def test_a_slide_never_goes_beyond_the_absolute_lifetime(store_or_none: Any) -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_slide=0.5)
    hooks = Hooks(access)
    async with client(lifetime_app(access, refresh, **_kwargs(store_or_none, absolute_lifetime=100))) as http:
        token, _ = await log_in(http)
        born = access_claims(token)["fat"]
        clock.set(born + 50)
        response = await call(http, "GET", "/me", access=token)
        token = set_cookies(response)["access"]
        assert access_claims(token)["exp"] == born + 100  # not born + 110
        assert cookie_expires(response, "access") == http_date(born + 100)
        clock.set(born + 80)  # past the new token's slide point, but no later exp is allowed
        response = await call(http, "GET", "/me", access=token)
        assert response.status_code == 200
        assert set_cookies(response) == {}
        clock.set(born + 100)
        hooks.calls.clear()
        response = await call(http, "GET", "/me", access=token)
        assert response.status_code == 401
        assert hooks.of("on_expire") == [("on_expire", "access", "ERR_SESSION_LIFETIME_EXCEEDED")]


async def test_an_on_slide_hook_vetoes_the_slide(store_or_none: Any) -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_slide=0.5)
    asked: list[tuple[str | None, str]] = []
    veto = {"on": True}

    @access.hooks.on_slide
    def keep_unless_allowed(event: HookEvent) -> bool | None:
        asked.append((event.session.id, event.config.name))
        return False if veto["on"] else None

    async with client(lifetime_app(access, refresh, **_kwargs(store_or_none))) as http:
        token, _ = await log_in(http)
        jti = access_claims(token)["jti"]
        clock.advance(45)
        response = await call(http, "GET", "/me", access=token)
        assert response.status_code == 200
        assert set_cookies(response) == {}  # vetoed: the token read stays
        assert asked == [(jti, "access")]
        veto["on"] = False
        response = await call(http, "GET", "/me", access=token)
        assert set(set_cookies(response)) == {"access"}
        assert len(asked) == 2


async def test_the_refresh_session_slides_when_the_fallback_reads_it(store_or_none: Any) -> None:
    """Past its slide point, the refresh session read by the refresh fallback gets a fresh exp;
    with rotation (a store) that is the fallback's one rotation, not a second one."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, refresh_slide=0.5)  # 1 h: slides from 30 min on
    hooks = Hooks(refresh)
    async with client(lifetime_app(access, refresh, **_kwargs(store_or_none))) as http:
        _, token = await log_in(http)
        issued = refresh_claims(token)
        clock.advance("20m")
        response = await call(http, "GET", "/me", refresh=token)
        assert response.status_code == 200
        rotated = store_or_none is not None
        assert ("refresh" in set_cookies(response)) is rotated  # only a rotation re-issues it
        token = set_cookies(response).get("refresh", token)
        clock.set(refresh_claims(token)["iat"] + 30 * 60)
        hooks.calls.clear()
        response = await call(http, "GET", "/me", refresh=token)
        assert response.status_code == 200
        new = set_cookies(response)["refresh"]
        claims = refresh_claims(new)
        assert claims["exp"] == int(clock.now) + 3600
        assert claims["jti"] != refresh_claims(token)["jti"]
        assert claims["sub"] == issued["sub"]
        assert cookie_expires(response, "refresh") == http_date(claims["exp"])
        assert len(hooks.of("on_update")) == 1  # one re-issue of the refresh session


async def test_a_slid_refresh_session_is_a_rotation(store: Any) -> None:
    """Read by a handler while the access session is valid, a refresh session past its slide point
    rotates: its family goes on, and the token it replaced is reuse after the grace window."""
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_max_age="1h", refresh_slide=0.5)
    hooks = Hooks(refresh)
    async with client(lifetime_app(access, refresh, store=store)) as http:
        access_token, old = await log_in(http)
        clock.advance("31m")
        response = await call(http, "GET", "/refresh-info", access=access_token, refresh=old)
        assert response.json()["valid"] is True
        successor = set_cookies(response)["refresh"]
        assert refresh_claims(successor)["fam"] == refresh_claims(old)["jti"]  # same family
        assert response.json()["jti"] == refresh_claims(successor)["jti"]
        clock.advance(GRACE + 1)
        response = await call(http, "GET", "/refresh-info", access=access_token, refresh=old)
        assert response.json()["valid"] is False
        assert hooks.of("on_reuse") == [("on_reuse", "refresh", "ERR_REFRESH_TOKEN_REUSED")]
        response = await call(http, "GET", "/refresh-info", access=access_token, refresh=successor)
        assert response.json()["valid"] is False  # the whole family is revoked


async def test_a_token_in_the_session_header_does_not_slide(store_or_none: Any) -> None:
    clock = SessionClock()
    access, refresh = lifetime_configs(clock, access_slide=0.5)
    async with client(lifetime_app(access, refresh, **_kwargs(store_or_none))) as http:
        token, _ = await log_in(http)
        clock.advance(45)
        http.cookies.clear()
        response = await http.get("/me", headers={"x-access-session": token})
        assert response.status_code == 200
        assert response.headers.get_list("set-cookie") == []
