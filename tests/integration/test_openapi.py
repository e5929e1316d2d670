"""OpenAPI: the plugin's security schemes, and what session guards add to an operation: security
requirements, 401/403 responses with ``WWW-Authenticate``, the CSRF header of unsafe methods."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import pytest
import schemathesis
from litestar import Controller, Litestar, Request, Response, Router, get, post, route
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, Operation, SecurityScheme
from litestar.params import HeaderParameter, JSONBody
from litestar.testing import TestClient
from schemathesis.core import NOT_SET

from litestar_jwtsession import (
    CookieOptions,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_scopes,
    requires_session,
)
from tests.helpers import forge_jws
from tests.openapi_fuzz import CHECKS

BASE_URL = "https://testserver.local"
HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")

ACCESS = JWSSessionConfig(key=HS256, name="access")
REFRESH = JWESessionConfig(key=A256KW, name="refresh", session_header=False)
API = JWSSessionConfig(key=HS256, name="api", cookie=False, session_header="Authorization")
PARTNER = JWSSessionConfig(
    key=HS256, name="partner", cookie=CookieOptions(path="/partner"), session_header="X-Partner-Token"
)


def access_requirements(*scopes: str) -> list[dict[str, list[str]]]:
    return [{"access_cookie": list(scopes)}, {"access_header": list(scopes)}]


@get("/notes", guards=[requires_scopes("read")])
async def list_notes() -> list[str]:
    return []


@post("/notes", guards=[requires_scopes("write", "notes")])
async def create_note() -> str:
    return "ok"


@get("/me", guards=[requires_session()])
async def me() -> str:
    return "me"


@get("/public")
async def public() -> str:
    return "public"


@get("/api/data", guards=[requires_scopes("data:read", session="api")])
async def api_data() -> str:
    return "data"


@get("/partner/sync", guards=[requires_scopes("sync", "admin", any_of=True, session=PARTNER)])
async def partner_sync() -> str:
    return "sync"


@get("/refresh-check", guards=[requires_session(REFRESH)])
async def refresh_check() -> str:
    return "ok"


class ReportsController(Controller):
    path = "/reports"
    guards = [requires_scopes("reports")]  # noqa: RUF012

    @get("/")
    async def index(self) -> str:
        return "reports"

    @get("/daily", guards=[requires_scopes("daily")])
    async def daily(self) -> str:
        return "daily"

    @get("/status", opt={"skip_session_guard": True})
    async def status(self) -> str:
        return "fine"


@get("/health", skip_session_guard=True)
async def health() -> str:
    return "up"


@get("/stats")
async def admin_stats() -> str:
    return "stats"


def build_app(**kwargs: Any) -> Litestar:
    return Litestar(
        [
            list_notes,
            create_note,
            me,
            public,
            api_data,
            partner_sync,
            refresh_check,
            ReportsController,
            health,
            Router("/admin", route_handlers=[admin_stats], guards=[requires_scopes("admin")]),
        ],
        plugins=[JWTSessionPlugin(access=ACCESS, refresh=REFRESH, sessions=[API, PARTNER])],
        **kwargs,
    )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    with TestClient(build_app(), base_url=BASE_URL) as client:
        response = client.get("/schema/openapi.json")
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]


def operation(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return schema["paths"][path][method]  # type: ignore[no-any-return]


def test_security_schemes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["access_cookie"] == {
        **schemes["access_cookie"],
        "type": "apiKey",
        "name": "access",
        "in": "cookie",
    }
    assert schemes["access_header"] == {
        **schemes["access_header"],
        "type": "apiKey",
        "name": "x-access-session",
        "in": "header",
    }
    assert schemes["refresh_cookie"] == {
        **schemes["refresh_cookie"],
        "type": "apiKey",
        "name": "refresh",
        "in": "cookie",
    }
    assert "refresh_header" not in schemes  # session_header=False
    assert "api_cookie" not in schemes  # cookie=False
    assert schemes["api_header"] == {**schemes["api_header"], "type": "http", "scheme": "bearer"}
    assert "name" not in schemes["api_header"]
    assert "in" not in schemes["api_header"]
    assert schemes["partner_header"]["name"] == "x-partner-token"
    assert schemes["partner_header"]["in"] == "header"
    assert schemes["partner_cookie"]["name"] == "partner"
    assert set(schemes) == {
        "access_cookie",
        "access_header",
        "refresh_cookie",
        "api_header",
        "partner_cookie",
        "partner_header",
    }
    for scheme in schemes.values():
        assert scheme.get("description")


@pytest.mark.parametrize(
    ("path", "method", "requirements"),
    [
        ("/notes", "get", access_requirements("read")),
        ("/notes", "post", access_requirements("notes", "write")),  # sorted
        ("/me", "get", access_requirements()),
        ("/api/data", "get", [{"api_header": ["data:read"]}]),
        (
            "/partner/sync",
            "get",
            # any_of: each scope is an alternative (entries of ``security`` are ORed)
            [
                {"partner_cookie": ["admin"]},
                {"partner_cookie": ["sync"]},
                {"partner_header": ["admin"]},
                {"partner_header": ["sync"]},
            ],
        ),
        ("/refresh-check", "get", [{"refresh_cookie": []}]),
        ("/reports", "get", access_requirements("reports")),
        ("/admin/stats", "get", access_requirements("admin")),
    ],
)
def test_guarded_routes_list_their_requirements(
    schema: dict[str, Any], path: str, method: str, requirements: list[dict[str, list[str]]]
) -> None:
    assert sorted(operation(schema, path, method)["security"], key=str) == sorted(requirements, key=str)


def test_guards_on_two_sessions_combine() -> None:
    @get("/both", guards=[requires_scopes("read"), requires_session("partner")])
    async def both() -> str:
        return "both"

    app = Litestar([both], plugins=[JWTSessionPlugin(access=ACCESS, sessions=[PARTNER])])
    security = app.openapi_schema.to_schema()["paths"]["/both"]["get"]["security"]
    expected = [
        {access: ["read"], partner: []}
        for access in ("access_cookie", "access_header")
        for partner in ("partner_cookie", "partner_header")
    ]
    assert sorted(security, key=str) == sorted(expected, key=str)


def test_guards_of_several_layers_merge_into_one_requirement_per_transport(schema: dict[str, Any]) -> None:
    # OpenAPI ORs the entries of ``security``: separate entries per guard would read as "either
    # scope suffices", while the controller guard AND the handler guard both apply.
    assert operation(schema, "/reports/daily")["security"] == access_requirements("daily", "reports")


@pytest.mark.parametrize("path", ["/public", "/health", "/reports/status", "/schema/openapi.json"])
def test_unguarded_and_opted_out_routes_carry_no_requirement(schema: dict[str, Any], path: str) -> None:
    if path not in schema["paths"]:
        return  # the schema endpoints are not documented themselves
    for op in schema["paths"][path].values():
        assert not op.get("security"), (path, op.get("security"))


def test_app_level_guard_with_opt_outs() -> None:
    @get("/open", skip_session_guard=True)
    async def open_route() -> str:
        return "open"

    @get("/closed")
    async def closed() -> str:
        return "closed"

    def app(openapi_config: OpenAPIConfig | None = None) -> Litestar:
        return Litestar(
            [open_route, closed],
            guards=[requires_scopes("read")],
            plugins=[JWTSessionPlugin(access=ACCESS)],
            **({"openapi_config": openapi_config} if openapi_config else {}),
        )

    # An app-level guard covers Litestar's schema router as well, like any app-level guard ...
    with TestClient(app(), base_url=BASE_URL) as client:
        assert client.get("/schema/openapi.json").status_code == 401
    # ... unless that router opts out too.
    schema_router = Router("/schema", route_handlers=[], opt={"skip_session_guard": True})
    config = OpenAPIConfig(title="t", version="1", openapi_router=schema_router)
    with TestClient(app(config), base_url=BASE_URL) as client:
        response = client.get("/schema/openapi.json")
        assert response.status_code == 200
        schema = response.json()
    assert "security" not in operation(schema, "/open")
    assert operation(schema, "/closed")["security"] == access_requirements("read")
    for path, item in schema["paths"].items():
        if path.startswith("/schema"):
            assert all(not op.get("security") for op in item.values()), path


def test_user_components_and_security_are_kept() -> None:
    config = OpenAPIConfig(
        title="Notes",
        version="1.0",
        components=Components(security_schemes={"basic": SecurityScheme(type="http", scheme="basic")}),
    )

    @get("/both", guards=[requires_scopes("read")], security=[{"basic": []}])
    async def both() -> str:
        return "both"

    app = Litestar([both], openapi_config=config, plugins=[JWTSessionPlugin(access=ACCESS)])
    with TestClient(app, base_url=BASE_URL) as client:
        schema = client.get("/schema/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"basic", "access_cookie", "access_header"}
    assert operation(schema, "/both")["security"] == [{"basic": []}, *access_requirements("read")]
    # the shared config object is not modified
    assert isinstance(config.components, Components)
    assert set(config.components.security_schemes or {}) == {"basic"}


def test_get_and_post_on_one_path_are_documented_once() -> None:
    """Both methods of one path share a route; each handler lists its own guard's requirements once."""

    @get("/items", guards=[requires_scopes("read")])
    async def read_items() -> str:
        return "r"

    @post("/items", guards=[requires_scopes("write")])
    async def write_items() -> str:
        return "w"

    app = Litestar([read_items, write_items], plugins=[JWTSessionPlugin(access=ACCESS)])
    schema = app.openapi_schema.to_schema()
    assert operation(schema, "/items", "get")["security"] == access_requirements("read")
    assert operation(schema, "/items", "post")["security"] == access_requirements("write")


def test_two_apps_from_the_same_handlers_do_not_duplicate_requirements() -> None:
    build_app()
    with TestClient(build_app(), base_url=BASE_URL) as client:
        schema = client.get("/schema/openapi.json").json()
    assert operation(schema, "/me")["security"] == access_requirements()
    assert operation(schema, "/api/data")["security"] == [{"api_header": ["data:read"]}]


# --- responses of session guards: 401 and 403 with WWW-Authenticate --------------------------------

GUARDED = [
    ("/notes", "get"),
    ("/notes", "post"),
    ("/me", "get"),
    ("/api/data", "get"),
    ("/partner/sync", "get"),
    ("/refresh-check", "get"),
    ("/reports", "get"),
    ("/reports/daily", "get"),
    ("/admin/stats", "get"),
]
SCOPED = [(path, method) for path, method in GUARDED if path not in ("/me", "/refresh-check")]


@pytest.mark.parametrize(("path", "method"), GUARDED)
def test_guarded_operations_document_401_with_www_authenticate(
    schema: dict[str, Any], path: str, method: str
) -> None:
    responses = operation(schema, path, method)["responses"]
    header = responses["401"]["headers"]["WWW-Authenticate"]
    assert header["required"] is True
    assert header["schema"] == {"type": "string", "pattern": "^Bearer( |$)"}
    # Litestar answers the 401 in the handler's media type: a JSON object, or JSON as text
    (media_type,) = next(response for code, response in responses.items() if code.startswith("2"))["content"]
    (body,) = [media["schema"] for media in responses["401"]["content"].values()]
    assert list(responses["401"]["content"]) == [media_type]
    if media_type == "application/json":
        assert body["required"] == ["status_code", "detail"]
        assert body["properties"]["status_code"] == {"type": "integer", "const": 401}
    else:
        assert media_type == "text/plain"
        assert body["type"] == "string"


@pytest.mark.parametrize(("path", "method"), SCOPED)
def test_scope_guards_document_403_with_insufficient_scope(
    schema: dict[str, Any], path: str, method: str
) -> None:
    header = operation(schema, path, method)["responses"]["403"]["headers"]["WWW-Authenticate"]
    assert header["required"] is True
    assert header["schema"]["pattern"] == '^Bearer error="insufficient_scope"'


@pytest.mark.parametrize("path", ["/me", "/refresh-check"])
def test_session_guards_without_scopes_document_no_403(schema: dict[str, Any], path: str) -> None:
    assert "403" not in operation(schema, path)["responses"]


@pytest.mark.parametrize("path", ["/public", "/health", "/reports/status"])
def test_unguarded_and_opted_out_routes_document_no_401(schema: dict[str, Any], path: str) -> None:
    responses = operation(schema, path)["responses"]
    assert "401" not in responses
    assert "403" not in responses


class Item(msgspec.Struct):
    name: str


class Problem(msgspec.Struct):
    title: str


@get("/json/me", guards=[requires_session()])
async def json_me() -> dict[str, str]:
    return {"me": "yes"}


@get("/json/admin", guards=[requires_scopes("admin")])
async def json_admin() -> dict[str, str]:
    return {"admin": "yes"}


@post("/json/items", guards=[requires_scopes("write")])
async def json_create(data: JSONBody[Item]) -> Item:
    return data


@get("/text/me", guards=[requires_session()])
async def text_me() -> str:
    return "me"


def bearer(*scopes: str) -> dict[str, str]:
    """The access session header with a genuine token granting ``scopes``."""
    now = int(time.time())
    claims = {"jti": "j1", "iat": now, "exp": now + 600, "sub": "alice", "scope": list(scopes)}
    return {"x-access-session": f"Bearer {forge_jws(claims, HS256)}"}


@pytest.mark.parametrize(
    ("path", "method", "headers", "status"),
    [
        ("/json/me", "GET", {}, 401),
        ("/json/me", "GET", {"x-access-session": "Bearer not-a-token"}, 401),
        ("/json/me", "GET", bearer(), 200),
        ("/json/admin", "GET", {}, 401),
        ("/json/admin", "GET", bearer("read"), 403),
        ("/json/admin", "GET", bearer("admin"), 200),
        ("/json/items", "POST", bearer("read"), 403),
        ("/text/me", "GET", {}, 401),
    ],
)
def test_what_the_guards_send_conforms_to_the_schema(
    path: str, method: str, headers: dict[str, str], status: int
) -> None:
    """The real answers (status, body, content type, WWW-Authenticate) pass Schemathesis' checks."""
    app = Litestar([json_me, json_admin, json_create, text_me], plugins=[JWTSessionPlugin(access=ACCESS)])
    api = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    case = api[path][method].Case(headers=headers, body={"name": "n"} if method == "POST" else NOT_SET)
    response = case.call()
    assert response.status_code == status
    case.validate_response(response, checks=CHECKS)


def test_declared_responses_are_kept() -> None:
    @get(
        "/declared",
        guards=[requires_scopes("x")],
        responses={401: ResponseSpec(Problem, description="Log in first")},
    )
    async def declared() -> str:
        return "d"

    @get("/raises", guards=[requires_scopes("x")], raises=[PermissionDeniedException])
    async def raises() -> str:
        return "r"

    app = Litestar([declared, raises], plugins=[JWTSessionPlugin(access=ACCESS)])
    schema = app.openapi_schema.to_schema()
    declared_401 = operation(schema, "/declared")["responses"]["401"]
    assert declared_401["description"] == "Log in first"
    assert "headers" not in declared_401
    assert declared_401["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "insufficient_scope" in str(operation(schema, "/declared")["responses"]["403"])  # added
    raised_403 = operation(schema, "/raises")["responses"]["403"]
    assert "headers" not in raised_403  # Litestar's own, from raises=
    assert raised_403["content"]["application/json"]["schema"]["description"] == "Permission Denied Exception"
    assert "WWW-Authenticate" in operation(schema, "/raises")["responses"]["401"]["headers"]


def test_a_custom_operation_class_is_kept() -> None:
    @dataclass
    class TaggedOperation(Operation):
        def __post_init__(self) -> None:
            self.tags = ["tagged"]

    @get("/tagged", guards=[requires_session()], operation_class=TaggedOperation)
    async def tagged() -> str:
        return "t"

    schema = Litestar([tagged], plugins=[JWTSessionPlugin(access=ACCESS)]).openapi_schema.to_schema()
    assert operation(schema, "/tagged")["tags"] == ["tagged"]
    assert "401" in operation(schema, "/tagged")["responses"]


def test_an_app_exception_handler_leaves_the_body_undocumented() -> None:
    """The app answers 401 its own way: only the status (and an optional header) is promised."""

    def own_401(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[str]:
        return Response("please log in", status_code=401, media_type="text/plain")

    app = Litestar(
        [json_me],
        plugins=[JWTSessionPlugin(access=ACCESS)],
        exception_handlers={NotAuthorizedException: own_401},
    )
    response = operation(app.openapi_schema.to_schema(), "/json/me")["responses"]["401"]
    assert "content" not in response
    assert response["headers"]["WWW-Authenticate"]["required"] is False


# --- the CSRF header on unsafe operations ----------------------------------------------------------

CSRF_ACCESS = JWSSessionConfig(key=HS256, name="access", csrf=True)
CSRF_REFRESH = JWESessionConfig(key=A256KW, name="refresh", session_header=False)


@get("/read", guards=[requires_session()])
async def csrf_read() -> str:
    return "r"


@post("/write", guards=[requires_session()])
async def csrf_write() -> str:
    return "w"


@post("/open")
async def csrf_open() -> str:
    return "o"


@route(["/item"], http_method=["PUT", "PATCH", "DELETE"], guards=[requires_session()], status_code=200)
async def csrf_item() -> str:
    return "i"


def csrf_parameters(schema: dict[str, Any], path: str, method: str) -> list[dict[str, Any]]:
    return [p for p in operation(schema, path, method).get("parameters", []) if "csrf" in p["name"]]


def test_unsafe_guarded_operations_document_the_csrf_header() -> None:
    app = Litestar(
        [csrf_read, csrf_write, csrf_open, csrf_item],
        plugins=[JWTSessionPlugin(access=CSRF_ACCESS, refresh=CSRF_REFRESH)],
    )
    schema = app.openapi_schema.to_schema()
    for path, method in [("/write", "post"), ("/item", "put"), ("/item", "patch"), ("/item", "delete")]:
        (parameter,) = csrf_parameters(schema, path, method)
        assert parameter["name"] == "x-csrf-token"
        assert parameter["in"] == "header"
        assert parameter["required"] is False
        assert parameter["schema"] == {"type": "string"}
        # the refresh cookie the access session falls back to is CSRF-checked too (inherited)
        assert "'access-csrf' or 'refresh-csrf'" in parameter["description"]
        assert "by cookie" in parameter["description"]
    assert csrf_parameters(schema, "/read", "get") == []  # safe method
    assert csrf_parameters(schema, "/open", "post") == []  # no session guard


def test_no_csrf_header_without_csrf_protection(schema: dict[str, Any]) -> None:
    assert "parameters" not in operation(schema, "/notes", "post")


def test_the_csrf_header_of_the_refresh_cookie_behind_a_header_only_access_session() -> None:
    # csrf=True on an access session without a cookie still protects the refresh cookie behind it
    access = JWSSessionConfig(key=HS256, name="access", cookie=False, csrf=True)
    refresh = JWESessionConfig(key=A256KW, name="refresh", session_header=False, csrf_header="X-XSRF")
    schema = Litestar([csrf_write], plugins=[JWTSessionPlugin(access=access, refresh=refresh)]).openapi_schema
    (parameter,) = [p for p in schema.to_schema()["paths"]["/write"]["post"]["parameters"]]
    assert parameter["name"] == "x-xsrf"
    assert "'refresh-csrf'" in parameter["description"]
    assert "access-csrf" not in parameter["description"]


def test_no_csrf_header_for_a_session_sent_in_a_header_only() -> None:
    api = JWSSessionConfig(key=HS256, name="api", cookie=False, session_header="Authorization")

    @post("/api/write", guards=[requires_session("api")])
    async def api_write() -> str:
        return "w"

    app = Litestar([api_write], plugins=[JWTSessionPlugin(sessions=[api], csrf=True)])
    assert "parameters" not in operation(app.openapi_schema.to_schema(), "/api/write", "post")


def test_a_declared_csrf_parameter_is_kept() -> None:
    @post("/declared-csrf", guards=[requires_session()])
    async def declared_csrf(
        token: Annotated[str, HeaderParameter(name="x-csrf-token", description="mine")],
    ) -> str:
        return token

    app = Litestar([declared_csrf], plugins=[JWTSessionPlugin(access=CSRF_ACCESS, refresh=CSRF_REFRESH)])
    (parameter,) = csrf_parameters(app.openapi_schema.to_schema(), "/declared-csrf", "post")
    assert parameter["description"] == "mine"
    assert parameter["required"] is True


def test_a_handler_on_two_paths_is_documented_once_per_path() -> None:
    @post(["/one", "/two"], guards=[requires_scopes("w")])
    async def two_paths() -> str:
        return "2"

    app = Litestar([two_paths], plugins=[JWTSessionPlugin(access=CSRF_ACCESS)])
    schema = app.openapi_schema.to_schema()
    for path in ("/one", "/two"):
        op = operation(schema, path, "post")
        assert len(csrf_parameters(schema, path, "post")) == 1
        assert {"401", "403"} <= set(op["responses"])
        assert op["security"] == access_requirements("w")


def test_scheme_descriptions_name_the_token_kind(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    cookie = "in a cookie (long ones chunked)"
    assert schemes["access_cookie"]["description"] == f"Session 'access': a signed JWT (JWS) {cookie}"
    assert schemes["refresh_cookie"]["description"] == f"Session 'refresh': an encrypted JWT (JWE) {cookie}"
    assert "a signed JWT (JWS), optionally prefixed with 'Bearer '" in schemes["access_header"]["description"]
    assert schemes["api_header"]["description"] == "Session 'api': a signed JWT (JWS)"
