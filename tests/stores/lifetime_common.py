"""Configs, routes and readers shared by the lifetime-policy and sliding-expiry tests.

The apps are those of :mod:`tests.stores.common` (login, logout, a guarded ``/me``) plus
``/refresh-info``, which reads the refresh session while the access session is valid (so a slide
of the refresh session happens outside the refresh fallback), and ``/relogin``, a login route
that marks its writes with ``login=True``. Time is a
:class:`~litestar_jwtsession.testing.SessionClock` shared by every config of a test.
"""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar, get, post
from litestar.di import NamedDependency

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, JWTSessionPlugin, Session
from litestar_jwtsession.testing import SessionClock
from tests.helpers import decrypt_jwe, jws_claims, parse_set_cookie, token_header
from tests.stores.common import ACCESS_KEY, REFRESH_KEY, ROUTES

__all__ = ("access_claims", "cookie_expires", "lifetime_app", "lifetime_configs", "refresh_claims")


def lifetime_configs(
    clock: SessionClock,
    *,
    access_max_age: Any = 60,
    refresh_max_age: Any = "1h",
    access_slide: float | None = None,
    refresh_slide: float | None = None,
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=ACCESS_KEY, name="access", max_age=access_max_age, clock=clock, slide_after=access_slide
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(
        key=REFRESH_KEY, name="refresh", max_age=refresh_max_age, clock=clock, slide_after=refresh_slide
    )
    return access, refresh


@get("/refresh-info")
async def refresh_info(refresh: NamedDependency[Session[Any]]) -> dict[str, Any]:
    return {"valid": refresh.is_valid, "jti": refresh.id}


@post("/relogin", status_code=200)
async def relogin(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    user = {"sub": "ada", "scope": ["read"]}
    await refresh.update(user, replace=True, login=True)
    await access.update(user, replace=True, login=True)
    return "welcome back"


def lifetime_app(access: Any, refresh: Any, **plugin_kwargs: Any) -> Litestar:
    return Litestar(
        [*ROUTES, refresh_info, relogin],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)],
    )


def refresh_claims(token: str) -> dict[str, Any]:
    header = token_header(token)
    return decrypt_jwe(token, REFRESH_KEY, alg=header["alg"], enc=header["enc"])[1]


def access_claims(token: str) -> dict[str, Any]:
    return jws_claims(token)


def cookie_expires(response: httpx.Response, name: str) -> str:
    """The ``Expires`` attribute of the response's Set-Cookie for ``name``."""
    for line in response.headers.get_list("set-cookie"):
        cookie, _, attributes = parse_set_cookie(line)
        if cookie == name:
            return str(attributes["expires"])
    raise AssertionError(f"no Set-Cookie for {name}")
