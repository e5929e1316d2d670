"""The benchmark's handler shapes and their bound answer what they claim to measure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Request, get

from benchmarks.bound import SHAPE_PATHS, bound_shapes
from benchmarks.driver import Probe, fetch, request_once
from benchmarks.scenarios import CLAIMS, _handler_shapes


@pytest.mark.parametrize("path", SHAPE_PATHS)
def test_the_bound_serves_each_shape_from_the_session(path: str) -> None:
    probe = bound_shapes(CLAIMS)[path]
    for _ in range(3):  # the first request verifies the token, the next ones take the cache
        status, body = asyncio.run(fetch(probe))
        assert status == 200
        assert body == (b"ok" if path == "/guard-only" else b"user-1")


@pytest.mark.parametrize("path", SHAPE_PATHS)
def test_the_bound_refuses_a_request_without_the_cookie(path: str) -> None:
    probe = bound_shapes(CLAIMS)[path]
    status, _ = asyncio.run(request_once(Probe(probe.app, path)))
    assert status == 401


@pytest.mark.parametrize("path", SHAPE_PATHS)
def test_our_shapes_read_the_same_session(path: str) -> None:
    probe = _handler_shapes("HS256")[path]  # (logs in with asyncio.run: a sync test)
    status, body = asyncio.run(fetch(probe))
    assert status == 200
    assert body == (b"ok" if path == "/guard-only" else b"user-1")


def test_the_bound_does_not_serve_the_cookie_when_the_session_header_carries_a_token() -> None:
    probe = bound_shapes(CLAIMS)["/auth"]
    cookie = dict(probe.headers)["cookie"]
    with_header = Probe(probe.app, "/auth", headers=[("x-access-session", "another"), ("cookie", cookie)])
    status, _ = asyncio.run(request_once(with_header))
    assert status == 401  # a real implementation reads the header's token; the bound refuses


def test_the_bound_gives_request_auth_a_top_level_of_its_own() -> None:
    probe = bound_shapes(CLAIMS)["/injected"]
    handler = next(route for route in probe.app.routes if route.path == "/injected").route_handlers[0]
    guard = handler.guards[0]
    provider = handler.dependencies["access"]

    @get("/mutate", guards=[guard])
    async def mutate(request: Request[Any, Any, Any]) -> str:
        request.auth["sub"] = "mallory"  # before the session is built from the guard's claims
        session = await provider.dependency(request)
        return str(session.data["sub"])

    probe.app.register(mutate)
    status, body = asyncio.run(fetch(Probe(probe.app, "/mutate", headers=probe.headers)))
    assert (status, body) == (200, b"user-1")
