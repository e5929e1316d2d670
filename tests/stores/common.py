"""Apps and HTTP helpers of the store tests.

Requests go through ``httpx.ASGITransport``: it runs the app in the test's own event loop, so a
``RedisStore`` created by a fixture can be used by the app, and ``asyncio.gather`` really
interleaves requests. (``litestar.testing.AsyncTestClient`` runs the app in a blocking portal on
another thread and serves one request at a time, so it can show neither.) Cookies are sent as an
explicit ``Cookie`` header: the sessions run on a fake clock, so the cookie jar's idea of
``Expires`` is beside the point.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import httpx
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    generate_jwk,
    requires_session,
    revoke_subject,
)
from tests.helpers import FakeClock, parse_set_cookie

BASE_URL = "https://testserver.local"
ACCESS_KEY = generate_jwk("ES256")
REFRESH_KEY = generate_jwk("A256KW")
assert isinstance(ACCESS_KEY, KeyPair)
ACCESS_MAX_AGE = 60


class Hooks:
    """Records ``on_read``/``on_error``/``on_reuse``/``on_update`` calls as (hook, config, code)."""

    def __init__(self, *configs: Any) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        for config in configs:
            for hook in ("on_read", "on_error", "on_reuse", "on_update", "on_expire"):
                getattr(config.hooks, hook)(self._record(hook))

    def _record(self, hook: str) -> Any:
        def record(event: HookEvent) -> None:
            code = None if event.error is None else str(event.error.code)
            self.calls.append((hook, event.config.name, code))

        return record

    def of(self, hook: str, config: str | None = None) -> list[tuple[str, str, str | None]]:
        return [call for call in self.calls if call[0] == hook and config in (None, call[1])]


def make_configs(clock: Any = None) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any], FakeClock]:
    clock = clock or FakeClock(time.time())
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=ACCESS_KEY, name="access", max_age=ACCESS_MAX_AGE, clock=clock
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(
        key=REFRESH_KEY, name="refresh", max_age="1h", clock=clock
    )
    return access, refresh, clock


@post("/login", status_code=200)
async def login(
    request: Request[Any, Any, Any],
    access: NamedDependency[Session[Any]],
    refresh: NamedDependency[Session[Any]],
) -> str:
    user = {"sub": request.query_params.get("user", "ada"), "scope": ["read"]}
    await access.update(user, replace=True)
    await refresh.update(user, replace=True)
    return "welcome"


@post("/logout", status_code=200)
async def logout(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    await access.clear()
    await refresh.clear()
    return "bye"


@post("/logout-everywhere", status_code=200, guards=[requires_session()])
async def logout_everywhere(request: Request[Any, Any, Any], access: NamedDependency[Session[Any]]) -> str:
    await revoke_subject(request, access.data["sub"])
    return "bye, everywhere"


@get("/me", guards=[requires_session()])
async def me(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
    return {"sub": access.data["sub"], "jti": access.id, "fam": access.data.get("fam")}


ROUTES = [login, logout, logout_everywhere, me]


def make_app(access: Any, refresh: Any, **plugin_kwargs: Any) -> Litestar:
    return Litestar(
        ROUTES,
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)],
    )


DEVICE_COOKIE = "refresh-device"


def device_of(browser: str) -> str:
    """The device cookie a browser keeps: one per browser (every tab shares it), 43 characters."""
    return base64.urlsafe_b64encode(hashlib.sha256(browser.encode()).digest()).decode().rstrip("=")


def client(app: Any, user_agent: str = "browser-1") -> httpx.AsyncClient:
    """One browser: its User-Agent and, sent by :func:`call`, its device cookie."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers={"user-agent": user_agent}
    )


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """``{name: value}`` of the response's session Set-Cookie headers (an expired cookie has
    ``""``); the device cookie, which goes with every refresh cookie, is left out."""
    result: dict[str, str] = {}
    for line in response.headers.get_list("set-cookie"):
        name, value, _ = parse_set_cookie(line)
        assert name not in result, f"{name} set twice"
        result[name] = value
    result.pop(DEVICE_COOKIE, None)
    return result


def refresh_set_cookie(response: httpx.Response) -> str | None:
    """The raw Set-Cookie header of the refresh session, if the response sets one."""
    lines = [line for line in response.headers.get_list("set-cookie") if line.startswith("refresh=")]
    assert len(lines) <= 1
    return lines[0] if lines else None


async def call(http: httpx.AsyncClient, method: str, path: str, **cookies: str | None) -> httpx.Response:
    """One request carrying exactly ``cookies`` (``None`` values left out)."""
    cookies = {**cookies, DEVICE_COOKIE: device_of(http.headers["user-agent"])}
    header = "; ".join(f"{name}={value}" for name, value in cookies.items() if value)
    headers = {"cookie": header} if header else {}
    http.cookies.clear()
    return await http.request(method, path, headers=headers)


async def log_in(http: httpx.AsyncClient, user: str = "ada") -> tuple[str, str]:
    response = await call(http, "POST", f"/login?user={user}")
    assert response.status_code == 200
    cookies = set_cookies(response)
    return cookies["access"], cookies["refresh"]
