"""Step-up: ``update(..., login=True)`` stamps ``auth_time``; ``requires_fresh_login(max_age)``
admits only a session whose login is at most ``max_age`` old and otherwise answers 401 with RFC
9470's ``insufficient_user_authentication`` challenge; the refresh fallback never makes a session
fresh; OpenAPI documents the challenge.

Time moves on a :class:`SessionClock` shared by the app's configs; the client forgets cookies
that lapse on that clock, as a browser does with the real one.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, Router, WebSocket, get, post, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    SessionClaims,
    SessionGuard,
    generate_jwk,
    requires_fresh_login,
    requires_scopes,
    requires_session,
)
from litestar_jwtsession.errors import ConfigurationError
from litestar_jwtsession.testing import SessionClock, drop_expired_cookies, log_in
from tests.helpers import jws_claims, parse_set_cookie
from tests.openapi_fuzz import fuzz, serve

BASE_URL = "https://testserver.local"
ES256 = generate_jwk("ES256")
A256KW = generate_jwk("A256KW")
MAX_AGE = 300  # requires_fresh_login("5m")


def step_up(max_age: int = MAX_AGE) -> str:
    """The exact challenge of a login older than ``max_age`` seconds (RFC 9470 §3)."""
    return (
        'Bearer error="insufficient_user_authentication", '
        'error_description="A more recent authentication is required", '
        f'max_age="{max_age}"'
    )


def configs(
    clock: SessionClock, claims: type[Any] | None = None
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    access: JWSSessionConfig[Any] = JWSSessionConfig(
        key=ES256, name="access", max_age="15m", clock=clock, claims=claims
    )
    refresh: JWESessionConfig[Any] = JWESessionConfig(key=A256KW, name="refresh", max_age="7D", clock=clock)
    return access, refresh


@post("/login", status_code=200)
async def login(
    request: Request[Any, Any, Any],
    access: NamedDependency[Session[Any]],
    refresh: NamedDependency[Session[Any]],
) -> dict[str, Any]:
    """A login: the user proved who they are, so both sessions are stamped."""
    scope = request.query_params.getall("scope", [])
    user = {"sub": "ada", "scope": scope}
    await refresh.update(user, replace=True, login=True)
    await access.update(user, replace=True, login=True)
    return access.data


@post("/login-unstamped", status_code=200)
async def login_unstamped(
    access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]
) -> str:
    """A login written before step-up existed: no ``login=True``, so no ``auth_time``."""
    await refresh.update({"sub": "ada"}, replace=True)
    await access.update({"sub": "ada"}, replace=True)
    return "welcome"


@post("/rename", status_code=200, guards=[requires_session()])
async def rename(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
    """Re-issues the access session with new data (``replace=True``): no login."""
    await access.update({"sub": access.data["sub"], "name": "Ada L."}, replace=True)
    return access.data


@get("/me", guards=[requires_session()])
async def me(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
    return access.data


@get("/transfer", guards=[requires_fresh_login("5m")])
async def transfer(request: Request[Any, Any, Any]) -> dict[str, Any]:
    claims = request.auth  # the claims dict, or the typed claims of a config with claims=
    return {"auth_time": claims["auth_time"] if isinstance(claims, dict) else claims.auth_time}


@get("/admin/scope-first", guards=[requires_scopes("admin"), requires_fresh_login(MAX_AGE)])
async def admin_scope_first() -> str:
    return "admin"


@get("/admin/fresh-first", guards=[requires_fresh_login(MAX_AGE), requires_scopes("admin")])
async def admin_fresh_first() -> str:
    return "admin"


@websocket("/ws/transfer", guards=[requires_fresh_login(MAX_AGE)])
async def ws_transfer(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json({"auth_time": socket.auth["auth_time"]})
    await socket.close()


ROUTES = [login, login_unstamped, rename, me, transfer, admin_scope_first, admin_fresh_first, ws_transfer]


def make_client(clock: SessionClock, **plugin_kwargs: Any) -> TestClient[Any]:
    access, refresh = configs(clock)
    app = Litestar(ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin_kwargs)])
    return drop_expired_cookies(TestClient(app, base_url=BASE_URL), clock)


@pytest.fixture
def clock() -> SessionClock:
    return SessionClock()


@pytest.fixture
def client(clock: SessionClock) -> Any:
    with make_client(clock) as client:
        yield client


def access_token_of(response: Any) -> str | None:
    """The access token a response sets, if it sets one."""
    for line in response.headers.get_list("set-cookie"):
        name, value, _ = parse_set_cookie(line)
        if name == "access" and value:
            return value
    return None


# --------------------------------------------------------------------------- login and freshness


def test_a_login_stamps_auth_time_and_a_fresh_login_is_admitted(client: Any, clock: SessionClock) -> None:
    login_time = int(clock.now)
    response = client.post("/login")
    assert response.status_code == 200
    token = access_token_of(response)
    assert token is not None
    claims = jws_claims(token)
    assert claims["auth_time"] == login_time == claims["iat"]

    response = client.get("/transfer")
    assert response.status_code == 200
    assert response.json() == {"auth_time": login_time}
    assert "www-authenticate" not in response.headers


def test_a_login_exactly_max_age_old_is_still_fresh(client: Any, clock: SessionClock) -> None:
    client.post("/login")
    clock.advance(MAX_AGE)
    assert client.get("/transfer").status_code == 200


def test_a_stale_login_is_refused_with_the_rfc_9470_challenge(client: Any, clock: SessionClock) -> None:
    client.post("/login")
    assert client.get("/transfer").status_code == 200  # the token cache now vouches for the cookie
    clock.advance(MAX_AGE + 1)

    response = client.get("/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == step_up()
    assert response.json() == {
        "status_code": 401,
        "detail": f"A login within the last {MAX_AGE} seconds is required",
    }
    # the session itself is still valid: ordinary guards admit it, and nothing is cleared
    assert "set-cookie" not in response.headers
    assert client.get("/me").status_code == 200


def test_a_session_without_auth_time_is_not_fresh(client: Any) -> None:
    assert client.post("/login-unstamped").status_code == 200
    assert client.get("/me").status_code == 200

    response = client.get("/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == step_up()


def test_no_session_at_all_gets_the_plain_bearer_challenge(client: Any) -> None:
    response = client.get("/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_auth_time_that_is_no_number_or_lies_ahead_is_not_fresh(client: Any, clock: SessionClock) -> None:
    for auth_time in ("yesterday", True, None, [1], int(clock.now) + 60):
        log_in(client, {"sub": "ada", "auth_time": auth_time})
        response = client.get("/transfer")
        assert response.status_code == 401, auth_time
        assert response.headers["www-authenticate"] == step_up()
    # a login a whole second later than this instance's clock is within the config's leeway
    log_in(client, {"sub": "ada", "auth_time": int(clock.now) + 1})
    assert client.get("/transfer").status_code == 401
    _, refresh = configs(clock)
    lenient = JWSSessionConfig(key=ES256, name="access", max_age="15m", clock=clock, leeway=5)
    app = Litestar(ROUTES, plugins=[JWTSessionPlugin(access=lenient, refresh=refresh)])
    with TestClient(app, base_url=BASE_URL) as other:
        log_in(other, {"sub": "ada", "auth_time": int(clock.now) + 5})
        assert other.get("/transfer").status_code == 200
        log_in(other, {"sub": "ada", "auth_time": int(clock.now) + 6})
        assert other.get("/transfer").status_code == 401


def test_a_login_counts_from_auth_time_not_from_the_token_age(client: Any, clock: SessionClock) -> None:
    """A session whose token was issued a moment ago is still stale when its login is old."""
    log_in(client, {"sub": "ada", "auth_time": int(clock.now) - MAX_AGE - 1})
    response = client.get("/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == step_up()
    log_in(client, {"sub": "ada", "auth_time": int(clock.now) - MAX_AGE})
    assert client.get("/transfer").status_code == 200


# --------------------------------------------------------------------------- re-issue and refresh


def test_re_issuing_the_session_keeps_auth_time(client: Any, clock: SessionClock) -> None:
    login_time = int(clock.now)
    client.post("/login")
    clock.advance("2m")

    response = client.post("/rename")
    assert response.status_code == 200
    assert response.json() == {"sub": "ada", "name": "Ada L.", "auth_time": login_time}
    token = access_token_of(response)
    assert token is not None
    assert jws_claims(token)["iat"] == login_time + 120  # a new token, the same login
    assert jws_claims(token)["auth_time"] == login_time

    clock.advance(MAX_AGE - 120 + 1)  # MAX_AGE + 1 after the login, not after the re-issue
    assert client.get("/transfer").status_code == 401


def test_the_refresh_fallback_never_makes_a_session_fresh(client: Any, clock: SessionClock) -> None:
    login_time = int(clock.now)
    client.post("/login")
    clock.advance("1h")  # the access session (15m) has long expired; the refresh session lives on
    assert "access" not in client.cookies

    response = client.get("/transfer")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == step_up()
    # the fallback did re-issue the access session, carrying the original login time
    token = access_token_of(response)
    assert token is not None
    claims = jws_claims(token)
    assert claims["auth_time"] == login_time
    assert claims["iat"] == login_time + 3600

    # the re-issued session is a valid session, only not a fresh one
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json()["auth_time"] == login_time
    assert client.get("/transfer").status_code == 401

    # logging in again makes it fresh
    client.post("/login")
    response = client.get("/transfer")
    assert response.status_code == 200
    assert response.json() == {"auth_time": login_time + 3600}


def test_a_refresh_session_without_auth_time_re_issues_none(client: Any, clock: SessionClock) -> None:
    client.post("/login-unstamped")
    clock.advance("1h")
    response = client.get("/me")
    assert response.status_code == 200
    assert "auth_time" not in response.json()
    assert client.get("/transfer").status_code == 401


def test_an_on_refresh_hook_cannot_refresh_auth_time(clock: SessionClock) -> None:
    access, refresh = configs(clock)

    @access.hooks.on_refresh
    def reshape(event: HookEvent) -> dict[str, Any]:
        # a hook that returns data with a brand-new auth_time (or drops it) changes nothing
        return {**event.old_session.data, "auth_time": int(clock.now), "via": "hook"}

    app = Litestar(ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with drop_expired_cookies(TestClient(app, base_url=BASE_URL), clock) as client:
        login_time = int(clock.now)
        client.post("/login")
        clock.advance("1h")
        response = client.get("/me")
        assert response.status_code == 200
        assert response.json()["via"] == "hook"
        assert response.json()["auth_time"] == login_time
        assert client.get("/transfer").status_code == 401


def test_update_login_true_restamps_an_existing_session(clock: SessionClock) -> None:
    """Step-up itself: the user re-enters a password; the same session is stamped again."""
    access, refresh = configs(clock)

    @post("/reauthenticate", status_code=200, guards=[requires_session()])
    async def reauthenticate(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        await access.update(login=True)  # merges nothing, keeps the data, stamps auth_time
        return access.data

    app = Litestar([*ROUTES, reauthenticate], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with drop_expired_cookies(TestClient(app, base_url=BASE_URL), clock) as client:
        client.post("/login?scope=read")
        clock.advance("10m")
        assert client.get("/transfer").status_code == 401
        response = client.post("/reauthenticate")
        assert response.json() == {"sub": "ada", "scope": ["read"], "auth_time": int(clock.now)}
        assert client.get("/transfer").status_code == 200


def test_an_update_may_set_auth_time_explicitly(clock: SessionClock) -> None:
    """An app federating a login (an OpenID provider's ID token) copies its ``auth_time``."""
    access, refresh = configs(clock)
    provider_login = int(clock.now) - 100

    @post("/federated", status_code=200)
    async def federated(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        await access.update({"sub": "ada", "auth_time": provider_login}, replace=True)
        return access.data

    app = Litestar([*ROUTES, federated], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.post("/federated").json() == {"sub": "ada", "auth_time": provider_login}
        assert client.get("/transfer").status_code == 200
        clock.advance(MAX_AGE - 100 + 1)
        assert client.get("/transfer").status_code == 401


def test_a_failed_update_rolls_auth_time_back(clock: SessionClock) -> None:
    access = JWSSessionConfig(key=ES256, name="access", max_age="15m", clock=clock, issuer="us")

    @post("/broken-login", status_code=200)
    async def broken_login(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        await access.update({"sub": "ada", "iss": "us"}, replace=True)
        first = dict(access.data)
        clock.advance(10)
        try:
            await access.update({"iss": "them"}, login=True)  # its own reader would refuse it
        except Exception as exc:  # the rollback is what is tested
            return {"before": first, "after": access.data, "error": type(exc).__name__}
        return {}

    app = Litestar([broken_login], plugins=[JWTSessionPlugin(access=access)])
    with TestClient(app, base_url=BASE_URL) as client:
        body = client.post("/broken-login").json()
        assert body["error"] == "SessionError"
        assert body["after"] == body["before"] == {"sub": "ada", "iss": "us"}


# --------------------------------------------------------------------------- composition


@pytest.mark.parametrize(
    ("path", "stale_without_scope"),
    [
        # guards run in order (app, router, controller, handler, then list order): the first to
        # refuse answers
        ("/admin/scope-first", 403),
        ("/admin/fresh-first", 401),
    ],
)
def test_composition_with_requires_scopes(
    client: Any, clock: SessionClock, path: str, stale_without_scope: int
) -> None:
    client.post("/login?scope=read")
    assert client.get(path).status_code == 403  # fresh but without the scope: 403 either way
    clock.advance(MAX_AGE + 1)
    response = client.get(path)
    assert response.status_code == stale_without_scope
    expected = 'Bearer error="insufficient_scope", scope="admin"' if stale_without_scope == 403 else step_up()
    assert response.headers["www-authenticate"] == expected

    client.post("/login?scope=admin")
    assert client.get(path).status_code == 200
    clock.advance(MAX_AGE + 1)
    response = client.get(path)  # with the scope but stale: 401 either way
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == step_up()


def _two_layers(access: JWSSessionConfig[Any]) -> Litestar:
    """``GET /r/strict``: a 1-minute fresh-login guard on the handler, a 10-minute one on its router."""

    @get("/strict", guards=[requires_fresh_login("1m")])
    async def strict() -> str:
        return "strict"

    return Litestar(
        [Router("/r", route_handlers=[strict], guards=[requires_fresh_login("10m")])],
        plugins=[JWTSessionPlugin(access=access)],
    )


def test_guards_of_several_layers_each_apply(clock: SessionClock) -> None:
    access, _ = configs(clock)
    app = _two_layers(access)
    with TestClient(app, base_url=BASE_URL) as client:
        log_in(client, {"sub": "ada", "auth_time": int(clock.now) - 500})
        response = client.get("/r/strict")  # within the router's 10m, not the handler's 1m
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == step_up(60)
        log_in(client, {"sub": "ada", "auth_time": int(clock.now)})
        assert client.get("/r/strict").status_code == 200
        clock.advance(61)
        response = client.get("/r/strict")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == step_up(60)


# --------------------------------------------------------------------------- typed claims, config


class AccessClaims(SessionClaims):
    name: str = "?"


class NoAuthTime(msgspec.Struct):
    sub: str


def test_typed_claims_carry_auth_time(clock: SessionClock) -> None:
    access, refresh = configs(clock, claims=AccessClaims)
    app = Litestar(ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with drop_expired_cookies(TestClient(app, base_url=BASE_URL), clock) as client:
        client.post("/login")
        assert client.get("/transfer").status_code == 200  # the guard's fast read (token cache)
        clock.advance(MAX_AGE + 1)
        assert client.get("/transfer").status_code == 401


def test_a_claims_type_without_auth_time_is_a_configuration_error(clock: SessionClock) -> None:
    access, refresh = configs(clock, claims=NoAuthTime)
    # the app is not built (like one whose guard names an unknown session), rather than serving
    # a guard that would refuse every session for ever
    with pytest.raises(
        ConfigurationError,
        match=r"route '/transfer' \(transfer\): requires_fresh_login: the claims type of session "
        r"'access' has no 'auth_time' field",
    ):
        Litestar(ROUTES, plugins=[JWTSessionPlugin(access=access, refresh=refresh)])


@pytest.mark.parametrize(("max_age", "seconds"), [("5m", 300), (90, 90), (timedelta(hours=1), 3600)])
def test_max_age_takes_durations(max_age: Any, seconds: int) -> None:
    guard = requires_fresh_login(max_age)
    assert isinstance(guard, SessionGuard)
    assert guard.max_age == seconds
    assert guard.scopes == frozenset()
    assert repr(guard) == f"SessionGuard(session=None, scopes=[], any_of=False, max_age={seconds})"


@pytest.mark.parametrize("max_age", ["soon", "10 minutes", 0, -5, True, 1.5, None])
def test_a_bad_max_age_is_refused(max_age: Any) -> None:
    with pytest.raises(ConfigurationError, match="requires_fresh_login: max_age"):
        requires_fresh_login(max_age)


def test_other_guards_are_not_fresh_login_guards() -> None:
    assert requires_session().max_age is None
    assert requires_scopes("read").max_age is None


# --------------------------------------------------------------------------- WebSocket


def test_websocket_handshakes_are_guarded_too(client: Any, clock: SessionClock) -> None:
    client.post("/login")
    # a browser sends its cookies with the handshake (the test client's jar does not, over wss)
    cookie = {"cookie": f"access={client.cookies['access']}"}
    with client.websocket_connect("/ws/transfer", headers=cookie) as socket:
        assert socket.receive_json() == {"auth_time": int(clock.now)}

    clock.advance(MAX_AGE + 1)
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/transfer", headers=cookie) as socket,
    ):
        socket.receive_json()
    # a handshake cannot carry WWW-Authenticate: the close code is 4000 + the HTTP status
    assert refused.value.code == 4401
    assert refused.value.detail == f"A login within the last {MAX_AGE} seconds is required"


def test_websocket_without_a_session_closes_with_4401(client: Any) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/transfer") as socket:
        socket.receive_json()
    assert refused.value.code == 4401
    assert refused.value.detail == "A valid session is required"


# --------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_the_step_up_challenge(client: Any) -> None:
    schema = client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/transfer"]["get"]
    assert operation["security"] == [{"access_cookie": []}, {"access_header": []}]
    unauthorized = operation["responses"]["401"]
    assert "more than 300 seconds old" in unauthorized["description"]
    header = unauthorized["headers"]["WWW-Authenticate"]
    assert 'error="insufficient_user_authentication"' in header["description"]
    assert 'max_age="300"' in header["description"]
    assert header["required"] is True
    # the documented pattern matches both challenges the route answers with
    assert re.match(header["schema"]["pattern"], step_up())
    assert re.match(header["schema"]["pattern"], "Bearer")
    assert "403" not in operation["responses"]

    # a route composing scopes and a fresh login documents both
    composed = schema["paths"]["/admin/scope-first"]["get"]
    assert composed["security"] == [{"access_cookie": ["admin"]}, {"access_header": ["admin"]}]
    assert (
        "insufficient_user_authentication"
        in composed["responses"]["401"]["headers"]["WWW-Authenticate"]["description"]
    )
    assert "403" in composed["responses"]

    # a route without a fresh-login guard does not mention it
    plain = schema["paths"]["/me"]["get"]["responses"]["401"]
    assert "insufficient_user_authentication" not in str(plain)


def test_openapi_names_the_strictest_max_age(clock: SessionClock) -> None:
    access, _ = configs(clock)
    app = _two_layers(access)
    with TestClient(app, base_url=BASE_URL) as client:
        operation = client.get("/schema/openapi.json").json()["paths"]["/r/strict"]["get"]
    assert 'max_age="60"' in operation["responses"]["401"]["headers"]["WWW-Authenticate"]["description"]
    assert "more than 60 seconds old" in operation["responses"]["401"]["description"]


def test_an_openapi_fuzzer_finds_the_stale_answers_documented(clock: SessionClock) -> None:
    """Schemathesis, logged in with a stale login: every answer (the step-up 401 included) has a
    documented status, content type, body and headers."""
    access, refresh = configs(clock)
    app = Litestar([me, transfer], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    with TestClient(app, base_url=BASE_URL) as client:
        issued = log_in(client, {"sub": "ada", "auth_time": int(clock.now) - MAX_AGE - 1})
    with serve(app) as base_url:
        summary = fuzz(base_url, credentials=lambda: ({"access": issued.token}, {}), max_examples=5)
    assert summary.operations == 2
    assert summary.statuses["GET /transfer"][401] >= 1
    assert summary.statuses["GET /me"][200] >= 1
    assert not summary.failures, "\n\n".join(summary.failures)
