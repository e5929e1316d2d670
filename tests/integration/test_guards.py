"""Session guards: ``requires_session`` and ``requires_scopes`` at every layer, 401/403 responses,
scope formats, CORS preflights, opting out, and ``request.auth``/``request.user``."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Controller, Litestar, Request, Router, get, post
from litestar.config.cors import CORSConfig
from litestar.di import NamedDependency
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    SessionGuard,
    generate_jwk,
    jwks_route,
    requires_scopes,
    requires_session,
    session_scopes,
)
from litestar_jwtsession.errors import ConfigurationError
from tests.helpers import flip

BASE_URL = "https://testserver.local"
HS256 = generate_jwk("HS256")
OTHER_HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
BEARER = "Bearer"


def insufficient(scope: str) -> str:
    return f'Bearer error="insufficient_scope", scope="{scope}"'


def access_config(**kwargs: Any) -> JWSSessionConfig[Any]:
    return JWSSessionConfig(key=HS256, name="access", **kwargs)


def mint(config: Any, data: dict[str, Any], *, ttl: int = 60, now: float | None = None) -> str:
    """A token as the session would write it (jti, iat, exp added)."""
    iat = int(time.time() if now is None else now)
    return str(config.encode_token({**data, "jti": str(uuid.uuid4()), "iat": iat, "exp": iat + ttl}))


def auth(config: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, str]:
    """The request header carrying a token of ``config`` (``Bearer `` prefixed, as a client would)."""
    token = mint(config, {"sub": "ada", **(data or {})}, **kwargs)
    return {str(config.header_name): f"Bearer {token}"}


def client_for(app: Litestar) -> TestClient[Any]:
    return TestClient(app, base_url=BASE_URL)


@get("/open")
async def open_route() -> str:
    return "open"


# --------------------------------------------------------------------------- layers


def _app_at_level(level: str, guard: SessionGuard, config: JWSSessionConfig[Any]) -> Litestar:
    plugin = JWTSessionPlugin(access=config)
    if level == "app":

        @get("/api/notes")
        async def notes() -> str:
            return "notes"

        return Litestar([notes], guards=[guard], plugins=[plugin])
    if level == "router":

        @get("/notes")
        async def router_notes() -> str:
            return "notes"

        return Litestar(
            [Router("/api", route_handlers=[router_notes], guards=[guard]), open_route], plugins=[plugin]
        )
    if level == "controller":

        class NotesController(Controller):
            path = "/api"
            guards = [guard]  # noqa: RUF012

            @get("/notes")
            async def notes(self) -> str:
                return "notes"

        return Litestar([NotesController, open_route], plugins=[plugin])

    @get("/api/notes", guards=[guard])
    async def handler_notes() -> str:
        return "notes"

    return Litestar([handler_notes, open_route], plugins=[plugin])


LEVELS = ("app", "router", "controller", "handler")


@pytest.mark.parametrize("level", LEVELS)
def test_requires_scopes_at_every_layer(level: str) -> None:
    config = access_config()
    with client_for(_app_at_level(level, requires_scopes("read"), config)) as client:
        response = client.get("/api/notes")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == BEARER

        response = client.get("/api/notes", headers=auth(config, {"scope": ["write"]}))
        assert response.status_code == 403
        assert response.headers["www-authenticate"] == insufficient("read")

        response = client.get("/api/notes", headers=auth(config, {"scope": ["read"]}))
        assert response.status_code == 200
        assert response.text == "notes"
        assert "www-authenticate" not in response.headers

        if level != "app":
            assert client.get("/open").status_code == 200


@pytest.mark.parametrize("level", LEVELS)
def test_requires_session_at_every_layer(level: str) -> None:
    config = access_config()
    with client_for(_app_at_level(level, requires_session(), config)) as client:
        response = client.get("/api/notes")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == BEARER
        # no scope needed, any valid session passes
        assert client.get("/api/notes", headers=auth(config)).status_code == 200


def test_guards_of_several_layers_all_apply() -> None:
    config = access_config()

    class AdminController(Controller):
        path = "/admin"
        guards = [requires_scopes("admin")]  # noqa: RUF012

        @get("/reports", guards=[requires_scopes("reports")])
        async def reports(self) -> str:
            return "reports"

    app = Litestar(
        [Router("/api", route_handlers=[AdminController], guards=[requires_session()])],
        plugins=[JWTSessionPlugin(access=config)],
    )
    with client_for(app) as client:
        assert client.get("/api/admin/reports").status_code == 401
        response = client.get("/api/admin/reports", headers=auth(config, {"scope": ["reports"]}))
        assert (response.status_code, response.headers["www-authenticate"]) == (403, insufficient("admin"))
        response = client.get("/api/admin/reports", headers=auth(config, {"scope": ["admin"]}))
        assert (response.status_code, response.headers["www-authenticate"]) == (403, insufficient("reports"))
        response = client.get("/api/admin/reports", headers=auth(config, {"scope": "admin reports"}))
        assert response.status_code == 200


# --------------------------------------------------------------------------- 401 for bad sessions


def test_invalid_expired_and_foreign_tokens_give_401() -> None:
    config = access_config()

    @get("/notes", guards=[requires_scopes("read")])
    async def notes() -> str:
        return "notes"

    app = Litestar([notes], plugins=[JWTSessionPlugin(access=config)])
    foreign = JWSSessionConfig(key=OTHER_HS256, name="access")
    good = mint(config, {"scope": ["read"]})
    bad_headers = {
        "garbage": "not-a-token",
        "tampered": flip(good, 1),
        "bad signature": flip(good, 2),
        "foreign key": mint(foreign, {"scope": ["read"]}),
        "expired": mint(config, {"scope": ["read"]}, now=time.time() - 120, ttl=60),
        "no jti": str(config.encode_token({"scope": ["read"], "iat": int(time.time())})),
    }
    with client_for(app) as client:
        for case, token in bad_headers.items():
            for headers in ({"x-access-session": token}, {"cookie": f"access={token}"}):
                client.cookies.clear()
                response = client.get("/notes", headers=headers)
                assert response.status_code == 401, (case, headers)
                assert response.headers["www-authenticate"] == BEARER, case
        client.cookies.clear()
        assert client.get("/notes", headers={"x-access-session": good}).status_code == 200
        client.cookies.clear()
        assert client.get("/notes", headers={"cookie": f"access={good}"}).status_code == 200


def test_401_response_carries_the_expired_cookie() -> None:
    """An expired token in a cookie is refused and its cookie expired on the same 401 response."""
    config = access_config()

    @get("/notes", guards=[requires_session()])
    async def notes() -> str:
        return "notes"

    app = Litestar([notes], plugins=[JWTSessionPlugin(access=config)])
    with client_for(app) as client:
        expired = mint(config, {}, now=time.time() - 120, ttl=60)
        response = client.get("/notes", headers={"cookie": f"access={expired}"})
        assert response.status_code == 401
        [line] = response.headers.get_list("set-cookie")
        assert line.startswith("access=; Max-Age=0")


# --------------------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("granted", "status"),
    [
        (["read", "write"], 200),
        ("read write", 200),
        ("  write   read extra ", 200),
        (["read"], 403),
        ("read", 403),
        ("readwrite", 403),
        ("", 403),
        ([], 403),
        (None, 403),
        (42, 403),
        ({"read": True, "write": True}, 403),
        ([["read"], "write"], 403),
    ],
)
def test_scope_claim_formats(granted: Any, status: int) -> None:
    config = access_config()

    @post("/notes", guards=[requires_scopes("write", "read")], status_code=201)
    async def create() -> str:
        return "created"

    app = Litestar([create], plugins=[JWTSessionPlugin(access=config)])
    data = {} if granted is None else {"scope": granted}
    with client_for(app) as client:
        response = client.post("/notes", headers=auth(config, data))
        assert response.status_code == (201 if status == 200 else status)
        if status == 403:
            # every required scope, sorted and space-separated
            assert response.headers["www-authenticate"] == insufficient("read write")


def test_any_of() -> None:
    config = access_config()

    @get("/edit", guards=[requires_scopes("write", "admin", any_of=True)])
    async def edit() -> str:
        return "ok"

    app = Litestar([edit], plugins=[JWTSessionPlugin(access=config)])
    with client_for(app) as client:
        assert client.get("/edit").status_code == 401
        for scope in (["write"], ["admin"], "admin write", "read write"):
            assert client.get("/edit", headers=auth(config, {"scope": scope})).status_code == 200, scope
        response = client.get("/edit", headers=auth(config, {"scope": ["read"]}))
        assert response.status_code == 403
        assert response.headers["www-authenticate"] == insufficient("admin write")


def test_session_scopes_helper() -> None:
    assert session_scopes({"scope": "a  b"}) == frozenset({"a", "b"})
    assert session_scopes({"scope": ["a", 1, "b"]}) == frozenset({"a", "b"})
    assert session_scopes({}) == frozenset()
    assert session_scopes(None) == frozenset()


def test_requires_scopes_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigurationError):
        requires_scopes()
    with pytest.raises(ConfigurationError):
        requires_scopes("read write")
    with pytest.raises(ConfigurationError):
        requires_scopes("")


# --------------------------------------------------------------------------- naming sessions


def test_guards_name_any_session_by_name_or_config() -> None:
    access = access_config()
    refresh = JWESessionConfig(key=A256KW, name="refresh")
    partner = JWSSessionConfig(key=OTHER_HS256, name="partner-session")

    @get("/by-name", guards=[requires_session("partner-session")])
    async def by_name() -> str:
        return "ok"

    @get("/by-config", guards=[requires_scopes("sync", session=partner)])
    async def by_config() -> str:
        return "ok"

    @get("/refresh-only", guards=[requires_session(refresh)])
    async def refresh_only() -> str:
        return "ok"

    @get("/access", guards=[requires_scopes("sync")])
    async def access_route() -> str:
        return "ok"

    app = Litestar(
        [by_name, by_config, refresh_only, access_route],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, sessions=[partner])],
    )
    with client_for(app) as client:
        access_headers = auth(access, {"scope": ["sync"]})
        partner_headers = auth(partner, {"scope": ["sync"]})
        weak_partner = auth(partner, {"scope": ["read"]})
        assert partner.header_name == "x-partner-session-session"

        for path in ("/by-name", "/by-config"):
            # the access session does not stand in for the partner session
            response = client.get(path, headers=access_headers)
            assert (response.status_code, response.headers["www-authenticate"]) == (401, BEARER), path
            assert client.get(path, headers=partner_headers).status_code == 200, path
        assert client.get("/by-name", headers=weak_partner).status_code == 200
        response = client.get("/by-config", headers=weak_partner)
        assert (response.status_code, response.headers["www-authenticate"]) == (403, insufficient("sync"))

        assert client.get("/access", headers=partner_headers).status_code == 401
        assert client.get("/access", headers=access_headers).status_code == 200

        assert client.get("/refresh-only", headers=access_headers).status_code == 401
        refresh_token = mint(refresh, {"sub": "ada"}, ttl=3600)
        assert client.get("/refresh-only", headers={"x-refresh-session": refresh_token}).status_code == 200


def test_unknown_session_name_fails_when_the_app_is_built() -> None:
    @get("/x", guards=[requires_session("nope")])
    async def handler() -> str:
        return "x"

    with pytest.raises(ConfigurationError, match=r"route '/x' \(handler\): no session named 'nope'"):
        Litestar([handler], plugins=[JWTSessionPlugin(access=access_config())])


def test_a_guard_without_an_access_session_fails_when_the_app_is_built() -> None:
    refresh_only = JWESessionConfig(key=generate_jwk("A256KW"), name="refresh")

    @get("/x", guards=[requires_session()])
    async def handler() -> str:
        return "x"

    with pytest.raises(ConfigurationError, match=r"route '/x' \(handler\): session guards need"):
        Litestar([handler], plugins=[JWTSessionPlugin(refresh=refresh_only)])


def test_a_session_guard_on_a_route_opted_out_of_sessions_fails_when_the_app_is_built() -> None:
    @get("/health", opt={"skip_jwt_session": True})
    async def health() -> str:
        return "ok"

    with pytest.raises(ConfigurationError, match=r"route '/health' \(health\) has a session guard but is"):
        Litestar([health], guards=[requires_session()], plugins=[JWTSessionPlugin(access=access_config())])
    # opted out of the guard too: served, without sessions
    health.opt["skip_session_guard"] = True
    app = Litestar([health], guards=[requires_session()], plugins=[JWTSessionPlugin(access=access_config())])
    with client_for(app) as client:
        assert client.get("/health").text == "ok"


@pytest.mark.parametrize("layer", ["router", "controller"])
def test_a_layer_opted_out_of_sessions_whose_handlers_skip_the_guard_builds(layer: str) -> None:
    """Litestar's own OPTIONS handler takes only the opt of the route's layers (the guard lets it
    through): it does not make the app-level guard a configuration error."""
    opt = {"skip_jwt_session": True}

    @get("/pub", opt={"skip_session_guard": True})
    async def pub() -> str:
        return "ok"

    class Public(Controller):
        path = "/p"

        @get("/pub", opt={"skip_session_guard": True})
        async def pub(self) -> str:
            return "ok"

    Public.opt = opt
    public = Router("/p", route_handlers=[pub, jwks_route(keys=generate_jwk("ES256"))], opt=opt)
    app = Litestar(
        [public if layer == "router" else Public],
        guards=[requires_session()],
        plugins=[JWTSessionPlugin(access=access_config())],
    )
    with client_for(app) as client:
        assert client.get("/p/pub").text == "ok"
        assert client.options("/p/pub").status_code == 204
        if layer == "router":
            assert client.get("/p/.well-known/jwks.json").status_code == 200
            assert client.options("/p/.well-known/jwks.json").status_code == 204


# --------------------------------------------------------------------------- CORS and opting out


def test_cors_preflight_is_not_blocked_by_an_app_level_guard() -> None:
    config = access_config()

    @post("/notes", status_code=201)
    async def create() -> str:
        return "created"

    app = Litestar(
        [create],
        guards=[requires_scopes("write")],
        cors_config=CORSConfig(allow_origins=["https://app.example"], allow_headers=["x-access-session"]),
        plugins=[JWTSessionPlugin(access=config)],
    )
    with client_for(app) as client:
        preflight = client.options(
            "/notes",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-access-session",
            },
        )
        assert preflight.status_code in (200, 204), preflight.text
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "www-authenticate" not in preflight.headers

        # the actual request is still guarded
        response = client.post("/notes", headers={"Origin": "https://app.example"})
        assert response.status_code == 401
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        response = client.post("/notes", headers={"Origin": "https://app.example", **auth(config)})
        assert response.status_code == 403
        headers = {"Origin": "https://app.example", **auth(config, {"scope": ["write"]})}
        assert client.post("/notes", headers=headers).status_code == 201


def test_routes_opt_out_of_layer_guards() -> None:
    config = access_config()

    @get("/health", opt={"skip_session_guard": True})
    async def health() -> str:
        return "up"

    @get("/version", skip_session_guard=True)
    async def version() -> str:
        return "1"

    @get("/private")
    async def private() -> str:
        return "secret"

    class Public(Controller):
        path = "/public"
        opt = {"skip_session_guard": True}  # noqa: RUF012

        @get("/")
        async def index(self) -> str:
            return "public"

    app = Litestar(
        [health, version, private, Public],
        guards=[requires_scopes("read")],
        plugins=[JWTSessionPlugin(access=config)],
    )
    with client_for(app) as client:
        assert client.get("/health").text == "up"
        assert client.get("/version").text == "1"
        assert client.get("/public").text == "public"
        assert client.get("/private").status_code == 401
        assert client.get("/private", headers=auth(config, {"scope": "read"})).text == "secret"


# --------------------------------------------------------------------------- auth, user, injection


@dataclass
class User:
    id: str
    name: str


USERS = {"ada": User("ada", "Ada Lovelace")}


def test_request_auth_and_user_with_retrieve_user_handler() -> None:
    config = access_config()
    lookups: list[Any] = []

    async def retrieve_user(claims: Any, connection: Any) -> User | None:
        lookups.append((claims, connection.url.path))
        return USERS.get(claims["sub"])

    @get("/me", guards=[requires_scopes("read")])
    async def me(request: Request[User, dict[str, Any], Any]) -> dict[str, Any]:
        assert isinstance(request.user, User)
        return {"user": request.user.name, "auth": request.auth}

    app = Litestar([me], plugins=[JWTSessionPlugin(access=config, retrieve_user_handler=retrieve_user)])
    with client_for(app) as client:
        response = client.get("/me", headers=auth(config, {"scope": ["read"]}))
        assert response.status_code == 200
        body = response.json()
        assert body["user"] == "Ada Lovelace"
        assert body["auth"]["sub"] == "ada"
        assert body["auth"]["scope"] == ["read"]
        assert {"jti", "iat", "exp"} <= set(body["auth"])
        assert lookups[-1][1] == "/me"

        # the handler returns None: unknown user, 401
        response = client.get("/me", headers=auth(config, {"sub": "mallory", "scope": ["read"]}))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == BEARER

        # scopes are checked before the user is looked up
        count = len(lookups)
        response = client.get("/me", headers=auth(config, {"sub": "mallory"}))
        assert response.status_code == 403
        assert len(lookups) == count


def test_request_user_is_the_claims_without_a_handler() -> None:
    config = access_config()

    @get("/me", guards=[requires_session()])
    async def me(request: Request[Any, Any, Any], access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        assert request.user is request.auth
        assert request.auth == access.claims
        return {"user": request.user, "session_id": access.id}

    app = Litestar([me], plugins=[JWTSessionPlugin(access=config)])
    with client_for(app) as client:
        token = mint(config, {"sub": "ada", "scope": "read"})
        response = client.get("/me", headers={"x-access-session": token})
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["sub"] == "ada"
        assert body["session_id"] == body["user"]["jti"]


def test_guard_and_handler_share_one_read() -> None:
    config = access_config()
    reads: list[str] = []
    config.hooks.on_read(lambda event: reads.append(event.session.id))

    @get("/me", guards=[requires_session(), requires_scopes("read")])
    async def me(access: NamedDependency[Session[Any]]) -> str:
        return str(access.id)

    app = Litestar([me], guards=[requires_session()], plugins=[JWTSessionPlugin(access=config)])
    with client_for(app) as client:
        response = client.get("/me", headers=auth(config, {"scope": ["read"]}))
        assert response.status_code == 200
        assert reads == [response.text]


def test_guard_on_a_header_only_session_with_authorization_header() -> None:
    config = JWSSessionConfig(key=HS256, name="api", cookie=False, session_header="Authorization")

    @get("/data", guards=[requires_scopes("read")])
    async def data() -> str:
        return "data"

    app = Litestar([data], plugins=[JWTSessionPlugin(access=config)])
    with client_for(app) as client:
        token = mint(config, {"scope": ["read"]})
        assert client.get("/data", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        response = client.get("/data", headers={"Authorization": "Bearer nope"})
        assert (response.status_code, response.headers["www-authenticate"]) == (401, BEARER)
        assert "set-cookie" not in response.headers
