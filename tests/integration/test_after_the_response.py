"""Sessions used after the response is out (a background task of the request): they keep the
app's store, reach the connection again, and stay read-only for cookies."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Litestar, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.response import Response
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import (
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionError,
    clear_jws_session,
    generate_jwk,
    requires_session,
    update_jws_session,
    use_jws_session,
)
from litestar_jwtsession.session.incoming import Incoming

BASE_URL = "https://testserver.local"
HS256 = generate_jwk("HS256")


def _token(config: JWSSessionConfig[Any]) -> str:
    return config.encode_token({"sub": "ada", "jti": str(uuid.uuid4()), "iat": int(time.time())})


def test_a_logout_in_a_background_task_revokes_the_token() -> None:
    api = JWSSessionConfig(key=HS256, name="api", cookie=False)
    connections: list[Any] = []
    api.hooks.on_clear(lambda event: connections.append(event.connection))

    @get("/logout")
    async def logout(request: Request[Any, Any, Any]) -> Response[str]:
        await use_jws_session(request, api)
        return Response("bye", background=BackgroundTask(clear_jws_session, request, api))

    @get("/me", guards=[requires_session("api")])
    async def me() -> str:
        return "me"

    app = Litestar([logout, me], plugins=[JWTSessionPlugin(sessions=[api], store=MemoryStore())])
    token = _token(api)
    with TestClient(app, base_url=BASE_URL) as client:
        headers = {"x-api-session": token}
        assert client.get("/me", headers=headers).status_code == 200
        assert client.get("/logout", headers=headers).text == "bye"
        assert client.get("/me", headers=headers).status_code == 401  # revoked by the task
    assert len(connections) == 1
    assert connections[0] is not None


def test_a_session_first_read_in_a_background_task_uses_a_named_store() -> None:
    access = JWSSessionConfig(key=HS256, name="access")
    other = JWSSessionConfig(key=generate_jwk("HS256"), name="other", cookie=False)
    seen: list[Any] = []

    async def read_other(request: Request[Any, Any, Any]) -> None:
        seen.append((await use_jws_session(request, other)).data.get("sub"))

    @get("/work", guards=[requires_session()])
    async def work(request: Request[Any, Any, Any]) -> Response[str]:
        return Response("ok", background=BackgroundTask(read_other, request))

    app = Litestar(
        [work],
        plugins=[JWTSessionPlugin(access=access, sessions=[other], store="sessions")],
        stores={"sessions": MemoryStore()},
    )
    with TestClient(app, base_url=BASE_URL) as client:
        client.cookies.set("access", _token(access))
        response = client.get("/work", headers={"x-other-session": _token(other)})
    assert response.status_code == 200
    assert seen == ["ada"]


def test_cookie_sessions_stay_read_only_after_the_response() -> None:
    access = JWSSessionConfig(key=HS256, name="access")
    outcome: list[str] = []

    async def write_later(request: Request[Any, Any, Any]) -> None:
        try:
            await update_jws_session(request, access, {"late": True})
        except SessionError as error:
            outcome.append(error.code)

    @get("/late", guards=[requires_session()])
    async def late(request: Request[Any, Any, Any]) -> Response[str]:
        await use_jws_session(request, access)
        return Response("ok", background=BackgroundTask(write_later, request))

    app = Litestar([late], plugins=[JWTSessionPlugin(access=access)])
    with TestClient(app, base_url=BASE_URL) as client:
        client.cookies.set("access", _token(access))
        response = client.get("/late")
    assert "set-cookie" not in response.headers
    assert outcome == [ErrorCode.SESSION_READ_ONLY]


def test_the_refresh_fallback_works_in_a_background_task() -> None:
    access = JWSSessionConfig(key=HS256, name="access", cookie=False, max_age="15m")
    refresh = JWESessionConfig(key=generate_jwk("A256KW"), name="refresh", max_age="7D")
    issued: list[bool] = []

    async def read_access(request: Request[Any, Any, Any]) -> None:
        issued.append((await use_jws_session(request, access)).is_valid)

    @get("/task")
    async def task(request: Request[Any, Any, Any]) -> Response[str]:
        return Response("ok", background=BackgroundTask(read_access, request))

    app = Litestar([task], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    refresh_token = refresh.encode_token({"sub": "ada", "jti": "r1", "iat": int(time.time())})
    with TestClient(app, base_url=BASE_URL) as client:
        client.cookies.set("refresh", refresh_token)
        assert client.get("/task").status_code == 200
    assert issued == [True]


def test_a_second_guard_keeps_the_first_guards_cached_read(monkeypatch: Any) -> None:
    access = JWSSessionConfig(key=HS256, name="access")
    other = JWSSessionConfig(key=generate_jwk("HS256"), name="other")
    decoded: list[str] = []
    for config in (access, other):
        original = config.codec._decode

        def counting(token: str, *args: Any, _original: Any = original, _name: str = config.name) -> Any:
            decoded.append(_name)
            return _original(token, *args)

        monkeypatch.setattr(config.codec, "_decode", counting)

    @get("/both", guards=[requires_session(), requires_session("other")])
    async def both(request: Request[Any, Any, Any]) -> str:
        session = await use_jws_session(request, access)
        return str(session.data["sub"])

    app = Litestar([both], plugins=[JWTSessionPlugin(access=access, sessions=[other])])
    with TestClient(app, base_url=BASE_URL) as client:
        client.cookies.set("access", _token(access))
        client.cookies.set("other", _token(other))
        assert [client.get("/both").text for _ in range(3)] == ["ada"] * 3
    assert sorted(decoded) == ["access", "other"]  # each verified once, on the first request


def test_a_header_reads_the_same_whatever_was_looked_up_first() -> None:
    headers = [(b"cookie", b"a=1"), (b"x-one", b"1")]
    first, second = Incoming(headers), Incoming(headers)
    assert first.header("cookie") == "a=1"
    assert second.header("x-one") == "1"
    assert second.header("cookie") == "a=1"
    assert first.cookies == second.cookies == {"a": "1"}
