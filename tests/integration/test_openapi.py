"""OpenAPI: the plugin's security schemes and the per-route security requirements of session guards."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Controller, Litestar, Router, get, post
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.testing import TestClient

from litestar_jwtsession import (
    CookieOptions,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_scopes,
    requires_session,
)

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
