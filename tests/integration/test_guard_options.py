"""Session guards and ``OPTIONS`` (issue 11, finding 7): only Litestar's automatic OPTIONS handler
is exempt. A handler of the app's own that accepts ``OPTIONS``, and an ASGI mount, are guarded
like any other method; a real CORS preflight still passes."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar import Litestar, Response, asgi, get, post, route
from litestar.config.cors import CORSConfig
from litestar.enums import HttpMethod
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

from litestar_jwtsession import JWSSessionConfig, JWTSessionPlugin, generate_jwk, requires_scopes

HS256 = generate_jwk("HS256")
ORIGIN = "https://app.example"


def _config() -> JWSSessionConfig[Any]:
    return JWSSessionConfig(key=HS256, name="access")


def _auth(config: JWSSessionConfig[Any], scope: list[str] | None = None) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "ada", "jti": str(uuid.uuid4()), "iat": now, "exp": now + 60}
    if scope is not None:
        claims["scope"] = scope
    return {str(config.header_name): f"Bearer {config.encode_token(claims)}"}


def _client(app: Litestar) -> TestClient[Any]:
    return TestClient(app, base_url="https://testserver.local")


def test_an_options_handler_of_the_app_is_guarded() -> None:
    config = _config()

    @route("/reports", http_method=[HttpMethod.OPTIONS], guards=[requires_scopes("admin")])
    async def describe_reports() -> Response[dict[str, str]]:
        return Response({"secret": "report index"})

    app = Litestar([describe_reports], plugins=[JWTSessionPlugin(access=config)])
    with _client(app) as client:
        anonymous = client.options("/reports")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert "secret" not in anonymous.text
        assert client.options("/reports", headers=_auth(config)).status_code == 403
        granted = client.options("/reports", headers=_auth(config, ["admin"]))
        assert granted.status_code == 200
        assert granted.json() == {"secret": "report index"}


def test_an_asgi_mount_is_guarded_for_every_method() -> None:
    config = _config()

    @asgi("/files", is_mount=True, copy_scope=True, guards=[requires_scopes("files")])
    async def files(scope: Scope, receive: Receive, send: Send) -> None:
        response = Response(f"mounted {scope['method']}")
        await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]

    app = Litestar([files], plugins=[JWTSessionPlugin(access=config)])
    with _client(app) as client:
        for method in ("OPTIONS", "GET"):
            assert client.request(method, "/files/a.txt").status_code == 401, method
            assert client.request(method, "/files/a.txt", headers=_auth(config)).status_code == 403
            granted = client.request(method, "/files/a.txt", headers=_auth(config, ["files"]))
            assert granted.status_code == 200, method
            assert granted.text == f"mounted {method}"


def test_the_automatic_options_handler_and_a_cors_preflight_pass() -> None:
    config = _config()

    @post("/notes", status_code=201)
    async def create() -> str:
        return "created"

    @get("/plain")
    async def plain() -> str:
        return "plain"

    cors = CORSConfig(allow_origins=[ORIGIN], allow_headers=[str(config.header_name)])
    app = Litestar(
        [create, plain],
        guards=[requires_scopes("write")],
        cors_config=cors,
        plugins=[JWTSessionPlugin(access=config)],
    )
    with _client(app) as client:
        preflight = client.options(
            "/notes",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": str(config.header_name),
            },
        )
        assert preflight.status_code in (200, 204), preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        # without an Origin, Litestar's own OPTIONS handler answers; it serves no data
        allow = client.options("/plain")
        assert allow.status_code == 204
        assert allow.headers["allow"] == "GET, OPTIONS"
        # every other method stays guarded
        assert client.get("/plain").status_code == 401
        assert client.post("/notes", headers={"Origin": ORIGIN}).status_code == 401
