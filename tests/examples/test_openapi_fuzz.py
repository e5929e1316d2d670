"""Every example app's OpenAPI schema tells the truth: an OpenAPI fuzzer (Schemathesis, see
tests/openapi_fuzz.py) finds nothing, anonymous and logged in through the example's own login
route, against a real uvicorn server.

Each run prints its summary (``pytest -s``): operations, cases, failures.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from examples.key_rotation import app as key_rotation
from examples.revocation_redis import app as revocation_redis
from examples.scopes_api import app as scopes_api
from examples.seed import app as seed
from examples.spa import app as spa
from litestar_jwtsession import JWTSessionPlugin, KeyPair, generate_jwk
from tests.openapi_fuzz import Credentials, fuzz, serve
from tests.stores.redis_server import redis_url

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Litestar

__all__ = ("redis_url",)

MAX_EXAMPLES = 50
"""Generated requests per operation and identity (positive and negative ones)."""


def _seed_app() -> Litestar:
    access_key = generate_jwk("RS256")
    assert isinstance(access_key, KeyPair)
    # a low PBES2 count keeps each login (a new refresh token) cheap; the wire format is the same
    return seed.create_app(access_key=access_key, refresh_password=uuid.uuid4().hex, pbes2_iterations=1000)


EXAMPLES: dict[str, tuple[Callable[..., Litestar], str, dict[str, Any]]] = {
    # name: (app factory, login route, login body)
    "seed": (_seed_app, "/login", {"username": "alice", "password": "secret"}),
    "spa": (spa.create_app, "/api/login", {"username": "bob", "password": "builder"}),
    "scopes_api": (scopes_api.create_app, "/login", {"username": "carol", "password": "carol-password"}),
    "key_rotation": (key_rotation.create_app, "/login", {"username": "alice"}),
    "revocation_redis": (
        revocation_redis.create_app,
        "/login",
        {"username": "ada", "password": "ada-password"},
    ),
}


def login(app: Litestar, base_url: str, route: str, body: dict[str, Any]) -> Credentials:
    """Log in through the example's route; the cookies it set, and the same sessions as headers
    (each session's header, and the CSRF header where a CSRF cookie was set)."""
    response = httpx.post(base_url + route, json=body)
    assert response.is_success, response.text
    cookies = {name: value for name, value in response.cookies.items() if value}
    headers: dict[str, str] = {}
    for config in app.plugins.get(JWTSessionPlugin).configs:
        token = cookies.get(config.name)
        if token is not None and config.header_name is not None:
            headers[config.header_name] = f"Bearer {token}"
        if config.csrf_cookie_name in cookies:
            headers[config.csrf_header] = cookies[config.csrf_cookie_name]
    assert cookies, "the login route set no cookie"
    return cookies, headers


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
@pytest.mark.parametrize("example", list(EXAMPLES))
def test_fuzzer_finds_nothing(example: str, logged_in: bool, request: pytest.FixtureRequest) -> None:
    factory, route, body = EXAMPLES[example]
    if example == "revocation_redis":
        app = factory(request.getfixturevalue("redis_url"), namespace=f"fuzz-{uuid.uuid4().hex}")
    else:
        app = factory()
    with serve(app) as base_url:
        credentials = (lambda: login(app, base_url, route, body)) if logged_in else None
        summary = fuzz(base_url, credentials=credentials, max_examples=MAX_EXAMPLES)
    print(f"{example} ({'logged in' if logged_in else 'anonymous'}): {summary}; {summary.statuses}")
    assert summary.operations >= 3
    assert summary.cases > summary.operations  # (an operation with few possible cases gets fewer)
    assert not summary.failures, "\n\n".join(summary.failures)
