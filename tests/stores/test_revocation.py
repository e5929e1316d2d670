"""Revocation through a Litestar ``Store``: on ``clear()``, per subject ("log out everywhere"),
shared by several app instances; on the in-memory store and on a real Redis server."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.stores.file import FileStore
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import JWTSessionPlugin, LitestarSessionStore, SessionStore, revoke_subject
from litestar_jwtsession.errors import ConfigurationError
from tests.helpers import jws_claims
from tests.stores.common import (
    ACCESS_MAX_AGE,
    ROUTES,
    Hooks,
    call,
    client,
    log_in,
    make_app,
    make_configs,
    set_cookies,
)


async def test_clear_revokes_both_sessions_until_they_expire(store: Any) -> None:
    access, refresh, _ = make_configs()
    hooks = Hooks(access, refresh)
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        old_access, old_refresh = await log_in(http)
        assert (await call(http, "GET", "/me", access=old_access)).status_code == 200

        response = await call(http, "POST", "/logout", access=old_access, refresh=old_refresh)
        assert response.status_code == 200
        assert set_cookies(response) == {"access": "", "refresh": ""}

        hooks.calls.clear()
        # the old access token reads as anonymous, fires on_error, and its cookie is expired
        response = await call(http, "GET", "/me", access=old_access)
        assert response.status_code == 401
        assert set_cookies(response) == {"access": ""}
        assert hooks.of("on_error") == [("on_error", "access", "ERR_SESSION_REVOKED")]
        assert hooks.of("on_read") == []

        # the old refresh token cannot re-issue an access session either
        hooks.calls.clear()
        response = await call(http, "GET", "/me", refresh=old_refresh)
        assert response.status_code == 401
        assert set_cookies(response) == {"refresh": ""}
        assert hooks.of("on_error") == [("on_error", "refresh", "ERR_SESSION_REVOKED")]
        assert hooks.of("on_update") == []

    # TTL = the remaining lifetime (+ leeway + 1 s), so the store forgets it once it expired anyway
    jti = jws_claims(old_access)["jti"]
    ttl = await store.expires_in(f"jwtsession:revoked:access:{jti}")
    assert ACCESS_MAX_AGE - 5 <= ttl <= ACCESS_MAX_AGE + 1


async def test_without_a_store_clear_does_not_revoke() -> None:
    access, refresh, _ = make_configs()
    async with client(make_app(access, refresh)) as http:
        old_access, old_refresh = await log_in(http)
        await call(http, "POST", "/logout", access=old_access, refresh=old_refresh)
        # stateless: the token stays valid until it expires (today's behaviour)
        assert (await call(http, "GET", "/me", access=old_access)).status_code == 200


async def test_log_out_everywhere_revokes_every_session_of_the_subject(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        laptop = await log_in(http, "ada")
        phone = await log_in(http, "ada")
        other = await log_in(http, "bob")
        clock.now += 1

        response = await call(http, "POST", "/logout-everywhere", access=laptop[0])
        assert response.status_code == 200
        for device in (laptop, phone):
            assert (await call(http, "GET", "/me", access=device[0])).status_code == 401
            # the refresh session is revoked too: no fallback re-issue
            response = await call(http, "GET", "/me", refresh=device[1])
            assert response.status_code == 401
            assert set_cookies(response) == {"refresh": ""}
        assert (await call(http, "GET", "/me", access=other[0])).status_code == 200

        clock.now += 1  # a login after the revoked second is not affected
        fresh = await log_in(http, "ada")
        assert (await call(http, "GET", "/me", access=fresh[0])).status_code == 200
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(http, "GET", "/me", refresh=fresh[1])).status_code == 200


async def test_log_out_everywhere_limited_to_one_session(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=store)
    async with client(app) as http:
        tokens = await log_in(http, "ada")
        clock.now += 1
        await revoke_subject(app, "ada", "access")  # by session name; the app finds the plugin
        assert (await call(http, "GET", "/me", access=tokens[0])).status_code == 401
        # the refresh session was not revoked: a second later it re-issues a fresh access session
        # (tokens issued in the revoked second itself are revoked: iat has whole seconds)
        clock.now += 1
        response = await call(http, "GET", "/me", refresh=tokens[1])
        assert response.status_code == 200
        assert (await call(http, "GET", "/me", access=set_cookies(response)["access"])).status_code == 200


async def test_two_instances_share_revocations(store: Any) -> None:
    """Revoked on one instance, rejected on the other (one process here; Redis across processes)."""
    access, refresh, _ = make_configs()
    one, two = make_app(access, refresh, store=store), make_app(access, refresh, store=store)
    async with client(one) as http_one, client(two) as http_two:
        tokens = await log_in(http_one)
        assert (await call(http_two, "GET", "/me", access=tokens[0])).status_code == 200
        assert (
            await call(http_two, "POST", "/logout", access=tokens[0], refresh=tokens[1])
        ).status_code == 200
        assert (await call(http_one, "GET", "/me", access=tokens[0])).status_code == 401
        assert (await call(http_one, "GET", "/me", refresh=tokens[1])).status_code == 401


async def test_store_given_by_name_is_looked_up_in_app_stores(store: Any) -> None:
    access, refresh, _ = make_configs()
    apps = [
        Litestar(
            ROUTES,
            plugins=[JWTSessionPlugin(access=access, refresh=refresh, store="sessions")],
            stores={"sessions": store},
        )
        for _ in range(2)
    ]
    async with client(apps[0]) as http_one, client(apps[1]) as http_two:
        tokens = await log_in(http_one)
        await call(http_one, "POST", "/logout", access=tokens[0], refresh=tokens[1])
        assert (await call(http_two, "GET", "/me", access=tokens[0])).status_code == 401


def test_protocol_and_plugin_attributes() -> None:
    access, refresh, _ = make_configs()
    plugin = JWTSessionPlugin(access=access, refresh=refresh, store=MemoryStore())
    assert isinstance(plugin.session_store, LitestarSessionStore)
    assert isinstance(plugin.session_store, SessionStore)
    assert plugin.refresh_rotation is plugin.session_store
    assert JWTSessionPlugin(access=access, refresh=refresh).session_store is None
    off = JWTSessionPlugin(access=access, refresh=refresh, store=MemoryStore(), rotate_refresh=False)
    assert off.session_store is not None
    assert off.refresh_rotation is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rotate_refresh": True}, "rotate_refresh needs store="),
        ({"store": MemoryStore(), "rotate_refresh": True, "refresh_fallback": False}, "refresh fallback"),
        ({"store": MemoryStore(), "rotation_grace": -1}, "rotation_grace"),
        ({"store": object()}, "litestar Store or the name of one"),
    ],
)
def test_misconfiguration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    access, refresh, _ = make_configs()
    with pytest.raises(ConfigurationError, match=message):
        JWTSessionPlugin(access=access, refresh=refresh, **kwargs)


def test_rotation_refuses_a_store_without_set_if_absent(tmp_path: Any) -> None:
    access, refresh, _ = make_configs()
    with pytest.raises(ConfigurationError, match="FileStore"):
        JWTSessionPlugin(access=access, refresh=refresh, store=FileStore(tmp_path))
    # revocation alone works with any store
    JWTSessionPlugin(access=access, refresh=refresh, store=FileStore(tmp_path), rotate_refresh=False)
    # a name is checked at startup
    app = Litestar(
        ROUTES,
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, store="files")],
        stores={"files": FileStore(tmp_path)},
    )
    with pytest.raises(BaseExceptionGroup) as failed, TestClient(app):
        pass
    assert failed.group_contains(ConfigurationError, match="FileStore")


async def test_revoke_subject_needs_a_store() -> None:
    access, refresh, _ = make_configs()
    app = make_app(access, refresh)
    with pytest.raises(ConfigurationError, match="store"):
        await revoke_subject(app, "ada")
