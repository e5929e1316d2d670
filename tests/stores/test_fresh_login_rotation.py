"""Step-up with refresh-token rotation, on the in-memory store and on real Redis and Valkey
servers: every rotated refresh token, and every access session issued from one, carries the
``auth_time`` of the original login, so a session refreshed long after its login is not fresh."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency

from litestar_jwtsession import JWTSessionPlugin, Session, requires_fresh_login
from tests.helpers import decrypt_jwe, jws_claims, token_header
from tests.stores.common import REFRESH_KEY, call, client, make_configs, set_cookies


@post("/login", status_code=200)
async def login(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
    await refresh.update({"sub": "ada"}, replace=True, login=True)
    await access.update({"sub": "ada"}, replace=True, login=True)
    return "welcome"


@get("/transfer", guards=[requires_fresh_login("5m")])
async def transfer(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"auth_time": request.auth["auth_time"]}


def refresh_claims(token: str) -> dict[str, Any]:
    header = token_header(token)
    claims: dict[str, Any] = decrypt_jwe(token, REFRESH_KEY, alg=header["alg"], enc=header["enc"])[1]
    return claims


async def test_rotation_carries_the_login_time_and_never_refreshes_it(store: Any) -> None:
    access, refresh, clock = make_configs()
    app = Litestar([login, transfer], plugins=[JWTSessionPlugin(access=access, refresh=refresh, store=store)])
    async with client(app) as http:
        login_time = int(clock.now)
        response = await call(http, "POST", "/login")
        cookies = set_cookies(response)
        assert refresh_claims(cookies["refresh"])["auth_time"] == login_time
        response = await call(http, "GET", "/transfer", access=cookies["access"])
        assert response.status_code == 200
        assert response.json() == {"auth_time": login_time}

        current = cookies["refresh"]
        for _ in range(3):
            clock.now += 400  # past the access session (60 s) and the fresh-login age (5m)
            response = await call(http, "GET", "/transfer", refresh=current)
            assert response.status_code == 401
            assert 'error="insufficient_user_authentication"' in response.headers["www-authenticate"]
            issued = set_cookies(response)
            assert issued["refresh"] != current  # rotated ...
            current = issued["refresh"]
            assert refresh_claims(current)["auth_time"] == login_time  # ... with the same login
            access_claims = jws_claims(issued["access"])
            assert access_claims["auth_time"] == login_time
            assert access_claims["iat"] > login_time

        # a new login on the same browser is fresh again
        response = await call(http, "POST", "/login", refresh=current)
        fresh = set_cookies(response)
        assert refresh_claims(fresh["refresh"])["auth_time"] == int(clock.now)
        response = await call(http, "GET", "/transfer", access=fresh["access"])
        assert response.status_code == 200
        assert response.json() == {"auth_time": int(clock.now)}
