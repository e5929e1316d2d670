"""The app and helpers of the device-session tests (on every store backend).

The login writes the refresh session first and the access session second, as the docs show, so
the access session carries its device's id (``fid``); ``/login-access-first`` is the other order.
"""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar, Request, post
from litestar.di import NamedDependency

from litestar_jwtsession import DeviceSessionsController, JWTSessionPlugin, Session
from tests.helpers import jws_claims
from tests.stores.common import BASE_URL, ROUTES, call, set_cookies

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@post("/device-login", status_code=200)
async def device_login(
    request: Request[Any, Any, Any],
    access: NamedDependency[Session[Any]],
    refresh: NamedDependency[Session[Any]],
) -> str:
    """``/login`` with the refresh session written first, so the access session carries the new
    device's ``fid`` (``common.login`` writes the access session first)."""
    user = {"sub": request.query_params.get("user", "ada"), "scope": ["read"]}
    await refresh.update(user, replace=True)
    await access.update(user, replace=True)
    return "welcome"


@post("/profile", status_code=200)
async def profile(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    """Changes the data of the current sessions (a merge): the device session goes on."""
    await refresh.update({"theme": "dark"})
    await access.update(refresh.data, replace=True)
    return "saved"


DEVICE_ROUTES = [*ROUTES, device_login, profile, DeviceSessionsController]


def device_app(access: Any, refresh: Any, **plugin_kwargs: Any) -> Litestar:
    return Litestar(
        DEVICE_ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)]
    )


def browser(app: Any, user_agent: str = FIREFOX_LINUX, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """One browser at ``ip``: its User-Agent and, sent by ``call``, its device cookie."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers={"user-agent": user_agent})


async def sign_in(http: httpx.AsyncClient, user: str = "ada") -> tuple[str, str]:
    """Log in (refresh session first); the access and refresh tokens."""
    response = await call(http, "POST", f"/device-login?user={user}")
    assert response.status_code == 200
    cookies = set_cookies(response)
    return cookies["access"], cookies["refresh"]


def device_id(access_token: str) -> str:
    """The device id an access token carries (its family's handle)."""
    handle = jws_claims(access_token)["fid"]
    assert isinstance(handle, str)
    return handle


async def devices(http: httpx.AsyncClient, access: str) -> list[dict[str, Any]]:
    response = await call(http, "GET", "/sessions", access=access)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert isinstance(listed, list)
    return listed


async def store_values(store: Any) -> list[bytes]:
    """Every value the store holds (to check what is kept, and what is not)."""
    if hasattr(store, "_store"):  # MemoryStore
        return [bytes(item.data) for item in store._store.values()]
    client = store._redis if hasattr(store, "_redis") else store._valkey
    keys = [key async for key in client.scan_iter(match=f"{store.namespace}:*")]
    values: list[bytes] = []
    for key in keys:
        kind = await client.type(key)
        if kind in (b"string", "string"):
            values.append(await client.get(key))
    return values
