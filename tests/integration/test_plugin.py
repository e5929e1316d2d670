"""The plugin's wiring: middleware, injection, JSON encoding, cookies on error responses, WebSockets."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get, post, websocket
from litestar.connection import WebSocket
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    SessionError,
    generate_jwk,
    use_jws_session,
)
from litestar_jwtsession.errors import ConfigurationError

HS256 = generate_jwk("HS256")
A128KW = generate_jwk("A128KW")


def set_cookies(response: Any) -> dict[str, str]:
    """Set-Cookie headers of a response by cookie name."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def cookie_value(line: str) -> str:
    return line.split(";", 1)[0].split("=", 1)[1]


def test_session_is_injected_under_its_dependency_key() -> None:
    access = JWSSessionConfig(key=HS256, name="access-token")
    seen: list[Session[Any]] = []

    @post("/login", status_code=200)
    async def login(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
        seen.append(access_token)
        await access_token.update({"sub": "ada"})
        return {"session": access_token}

    @get("/me")
    async def me(
        request: Request[Any, Any, Any], access_token: NamedDependency[Session[Any]]
    ) -> dict[str, Any]:
        same = await use_jws_session(request, access)
        return {"sub": access_token.data.get("sub"), "same_object": same is access_token}

    app = Litestar([login, me], plugins=[JWTSessionPlugin(access=access)])
    with TestClient(app, base_url="https://testserver.local") as client:
        response = client.post("/login")
        assert response.status_code == 200
        body = response.json()["session"]
        # unjwt's JSON shape, camelCase, no null values
        assert set(body) == {"id", "createdAt", "data", "token"}
        assert body["data"] == {"sub": "ada"}
        line = set_cookies(response)["access-token"]
        assert cookie_value(line) == body["token"]
        assert "; Path=/" in line
        assert "; Secure" in line
        assert "HttpOnly" not in line
        assert "; SameSite=Lax" in line

        response = client.get("/me")
        assert response.json() == {"sub": "ada", "same_object": True}


def test_plugin_rejects_bad_setups() -> None:
    with pytest.raises(ConfigurationError):
        JWTSessionPlugin()
    with pytest.raises(ConfigurationError, match="unique"):
        JWTSessionPlugin(
            sessions=[JWSSessionConfig(key=HS256, name="s"), JWESessionConfig(key=A128KW, name="s")]
        )
    with pytest.raises(ConfigurationError):
        JWTSessionPlugin(access=JWESessionConfig(key=A128KW))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="handler parameter"):
        JWSSessionConfig(key=HS256, name="request")


def test_functional_api_without_plugin_is_a_clear_error() -> None:
    config = JWSSessionConfig(key=HS256)

    @get("/")
    async def handler(request: Request[Any, Any, Any]) -> str:
        try:
            await use_jws_session(request, config)
        except SessionError as error:
            return error.code
        return "no error"

    with TestClient(Litestar([handler])) as client:
        assert client.get("/").text == "ERR_SESSION_NOT_INSTALLED"


@pytest.mark.parametrize("raised", [NotFoundException, PermissionDeniedException, RuntimeError])
def test_cookies_reach_responses_built_from_exceptions(raised: type[Exception]) -> None:
    config = JWSSessionConfig(key=HS256, name="s")

    @get("/")
    async def handler(s: NamedDependency[Session[Any]]) -> None:
        await s.update({"a": 1})
        raise raised("boom")

    app = Litestar([handler], plugins=[JWTSessionPlugin(sessions=[config])], debug=False)
    with TestClient(app, base_url="https://testserver.local", raise_server_exceptions=False) as client:
        response = client.get("/")
        assert response.status_code >= 400
        assert "s" in set_cookies(response)


def test_guard_error_response_still_carries_cookies() -> None:
    config = JWSSessionConfig(key=HS256, name="s")

    async def guard(connection: Any, _: Any) -> None:
        session = await use_jws_session(connection, config)
        await session.update({"seen": True})
        raise PermissionDeniedException("no")

    @get("/", guards=[guard])
    async def handler() -> None:
        return None

    app = Litestar([handler], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url="https://testserver.local") as client:
        response = client.get("/")
        assert response.status_code == 403
        assert "s" in set_cookies(response)


def test_route_that_never_reads_a_session_sets_no_cookie() -> None:
    config = JWSSessionConfig(key=HS256, name="s")

    @get("/plain")
    async def plain() -> str:
        return "ok"

    app = Litestar([plain], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url="https://testserver.local") as client:
        response = client.get("/plain", headers={"Cookie": "s=garbage"})
        assert response.status_code == 200
        assert response.headers.get_list("set-cookie") == []


def test_websocket_reads_sessions_but_cannot_write_cookies() -> None:
    config = JWSSessionConfig(key=HS256, name="s")

    @post("/login", status_code=200)
    async def login(s: NamedDependency[Session[Any]]) -> str:
        await s.update({"user": "ada"})
        return str(s.token)

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        session = await use_jws_session(socket, config)
        outcome: dict[str, Any] = {"user": session.data.get("user")}
        try:
            await session.update({"user": "eve"})
        except SessionError as error:
            outcome["error"] = error.code
        try:
            await session.clear()
        except SessionError as error:
            outcome["clear_error"] = error.code
        outcome["user_after"] = session.data.get("user")
        await socket.send_json(outcome)
        await socket.close()

    app = Litestar([login, ws], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url="https://testserver.local") as client:
        token = client.post("/login").text
        with client.websocket_connect("/ws", headers={"x-s-session": f"Bearer {token}"}) as socket:
            outcome = socket.receive_json()
    assert outcome == {
        "user": "ada",
        "error": "ERR_SESSION_READ_ONLY",
        "clear_error": "ERR_SESSION_READ_ONLY",
        "user_after": "ada",
    }


def test_websocket_with_header_only_session_can_update() -> None:
    config = JWSSessionConfig(key=HS256, name="s", cookie=False)

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        session = await use_jws_session(socket, config)
        await session.update({"n": 1})
        await socket.send_json({"token": session.token, "id": session.id})
        await socket.close()

    app = Litestar([ws], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        outcome = socket.receive_json()
    assert outcome["token"].count(".") == 2
    assert outcome["id"]


def test_replace_with_a_new_name_derives_a_new_dependency_key() -> None:
    import dataclasses

    original = JWSSessionConfig(key=HS256, name="first-session")
    renamed = dataclasses.replace(original, name="second-session")
    assert original.injection_key == "first_session"
    assert renamed.injection_key == "second_session"
    JWTSessionPlugin(sessions=[original, renamed])  # no clash
    explicit = JWSSessionConfig(key=HS256, name="x", dependency_key="mine")
    assert dataclasses.replace(explicit, name="y").injection_key == "mine"


def test_request_state_is_freed_without_the_cyclic_collector() -> None:
    """Per-request objects must not wait for ``gc``: cycles there cost every request."""
    import gc

    from litestar_jwtsession.session.context import RequestContext

    config = JWSSessionConfig(key=HS256, name="s")

    @get("/")
    async def handler(s: NamedDependency[Session[Any]]) -> str:
        await s.update({"n": 1})
        return "ok"

    def live_registries() -> int:
        return sum(type(item) in (RequestContext, Session) for item in gc.get_objects())

    app = Litestar([handler], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url="https://testserver.local") as client:
        client.get("/")
        gc.collect()
        gc.disable()
        try:
            before = live_registries()
            for _ in range(20):
                assert client.get("/").status_code == 200
            after = live_registries()
        finally:
            gc.enable()
    assert after <= before + 2  # at most the last context and its session, still referenced by the client


def test_route_opted_out_of_sessions_cannot_read_them() -> None:
    config = JWSSessionConfig(key=HS256, name="s")

    @get("/out", opt={"skip_jwt_session": True})
    async def opted_out(request: Request[Any, Any, Any]) -> str:
        try:
            await use_jws_session(request, config)
        except SessionError as error:
            return error.code
        return "read"

    @get("/in")
    async def opted_in(request: Request[Any, Any, Any]) -> str:
        await use_jws_session(request, config)
        return "read"

    with TestClient(Litestar([opted_out, opted_in], plugins=[JWTSessionPlugin(sessions=[config])])) as client:
        assert client.get("/out").text == "ERR_SESSION_NOT_INSTALLED"
        assert client.get("/in").text == "read"


def test_session_written_after_the_response_started_is_refused() -> None:
    """A background task runs after the response was sent: it sees the session the response
    carried, read-only."""
    from litestar.background_tasks import BackgroundTask

    config = JWSSessionConfig(key=HS256, name="s")
    outcome: list[str] = []

    async def later(request: Request[Any, Any, Any]) -> None:
        session = await use_jws_session(request, config)
        outcome.append(f"read {session.data.get('n')}")
        try:
            await session.update({"n": 2})
        except SessionError as error:
            outcome.append(error.code)

    @get("/")
    async def handler(request: Request[Any, Any, Any], s: NamedDependency[Session[Any]]) -> Any:
        from litestar import Response

        await s.update({"n": 1})
        return Response("ok", background=BackgroundTask(later, request))

    app = Litestar([handler], plugins=[JWTSessionPlugin(sessions=[config])])
    with TestClient(app, base_url="https://testserver.local") as client:
        first = client.get("/")
        assert "s" in set_cookies(first)
        assert outcome == ["read 1", "ERR_SESSION_READ_ONLY"]
        client.get("/")
        assert outcome[2:] == ["read 1", "ERR_SESSION_READ_ONLY"]


def test_a_plugin_configuration_error_is_also_litestars_improperly_configured() -> None:
    from litestar.exceptions import ImproperlyConfiguredException

    with pytest.raises(ImproperlyConfiguredException) as raised:
        JWTSessionPlugin()
    assert isinstance(raised.value, ConfigurationError)
    assert isinstance(raised.value, ValueError)
