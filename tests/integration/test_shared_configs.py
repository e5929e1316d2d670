"""Configs are declarative and shared: two apps built from the same configs behave independently.

Config objects are commonly module-level and serve several apps (tests build many apps from the
same ones); a plugin decides its app's CSRF and refresh fallback without writing them back.
"""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
    use_jws_session,
)
from tests.helpers import forge_jwe, forge_jws, send

HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
ACCESS = JWSSessionConfig(key=HS256, name="acc", max_age="15m")
REFRESH = JWESessionConfig(key=A256KW, name="ref", max_age="7D")
BASE = "https://testserver.local"


@get("/me", guards=[requires_session()])
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict((await use_jws_session(request, ACCESS)).data)


@post("/me", guards=[requires_session()], status_code=200)
async def me_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict((await use_jws_session(request, ACCESS)).data)


def _app(**plugin: Any) -> Litestar:
    return Litestar([me, me_post], plugins=[JWTSessionPlugin(access=ACCESS, refresh=REFRESH, **plugin)])


def test_the_refresh_fallback_of_one_app_does_not_leak_into_another() -> None:
    refresh = forge_jwe({"jti": "r1", "iat": int(time.time()), "sub": "ada"}, A256KW, enc="A256GCM")
    with_fallback, without = _app(), _app(refresh_fallback=False)
    with TestClient(without, base_url=BASE) as client:
        assert send(client, "/me", cookie=f"ref={refresh}").status_code == 401
    with TestClient(with_fallback, base_url=BASE) as client:
        assert send(client, "/me", cookie=f"ref={refresh}").json() == {"sub": "ada"}
    with TestClient(without, base_url=BASE) as client:  # still none, after the other app ran
        assert send(client, "/me", cookie=f"ref={refresh}").status_code == 401
    assert not ACCESS.hooks.has("on_missing")  # nothing registered on the shared config


def test_csrf_of_one_app_does_not_leak_into_another() -> None:
    access = forge_jws({"jti": "a1", "iat": int(time.time()), "sub": "ada"}, HS256)
    protected, plain = _app(csrf=True), _app()
    with TestClient(plain, base_url=BASE) as client:
        assert send(client, "/me", method="POST", cookie=f"acc={access}").status_code == 200
    with TestClient(protected, base_url=BASE) as client:
        assert send(client, "/me", method="POST", cookie=f"acc={access}").status_code == 401
    with TestClient(plain, base_url=BASE) as client:  # the other app's csrf=True changed nothing here
        assert send(client, "/me", method="POST", cookie=f"acc={access}").status_code == 200
    assert not ACCESS.csrf
    assert not REFRESH.csrf
