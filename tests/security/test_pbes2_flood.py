"""A flood of forged PBES2 refresh cookies (issue 11, finding 1), over the app's HTTP interface.

Each forged cookie carries the configured ``p2c`` and a fresh random ``p2s``, so it needs a PBKDF2
run of its own. The server must derive off the event loop, admit a bounded number of derivations,
refuse the rest as anonymous (401 behind a guard, ``on_error`` with ``ERR_JWE_DERIVATION_BUSY``)
without logging anybody out, and never derive the same genuine token twice.

Requests go through ``httpx.ASGITransport`` in the test's own loop, so ``asyncio.gather`` really
overlaps them. Derivations are counted, and held when a test needs a full pool, by wrapping the
model's ``compute_derived_key`` (joserfc's PBKDF2); nothing here measures time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    generate_jwk,
    requires_session,
    unseal_jwe_session,
)
from tests.helpers import assert_cleared, forge_jwe, parse_set_cookie
from tests.pbes2_support import Derivations, until

PASSWORD = "correct horse battery staple"
FAST = 1000  # the flood's shape does not depend on the count; tests stay quick
PBES2 = "PBES2-HS256+A128KW"
BUSY = "ERR_JWE_DERIVATION_BUSY"


def _app(**refresh_options: Any) -> tuple[Litestar, JWESessionConfig[Any], list[tuple[str, str | None]]]:
    access: JWSSessionConfig[Any] = JWSSessionConfig(key=generate_jwk("HS256"), name="access", max_age=60)
    refresh: JWESessionConfig[Any] = JWESessionConfig(
        key=PASSWORD, name="refresh", max_age="1h", pbes2_iterations=FAST, **refresh_options
    )
    errors: list[tuple[str, str | None]] = []

    @refresh.hooks.on_error
    def record(event: HookEvent) -> None:
        errors.append((event.config.name, None if event.error is None else str(event.error.code)))

    @post("/login", status_code=200)
    async def login(access: NamedDependency[Session[Any]], refresh: NamedDependency[Session[Any]]) -> str:
        await refresh.update({"sub": "ada"}, replace=True)
        await access.update({"sub": "ada"}, replace=True)
        return "welcome"

    @get("/me", guards=[requires_session()])
    async def me(access: NamedDependency[Session[Any]]) -> str:
        return str(access.data["sub"])

    @post("/unseal", status_code=200)
    async def unseal(request: Request[Any, Any, Any]) -> str:
        snapshot = await unseal_jwe_session(request, refresh, (await request.body()).decode())
        return str(snapshot.data["sub"])

    app = Litestar([login, me, unseal], plugins=[JWTSessionPlugin(access=access, refresh=refresh)])
    return app, refresh, errors


def _client(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver.local")


def _genuine(sub: str = "ada") -> str:
    """A refresh token sealed elsewhere (stock joserfc): this process has never derived its key."""
    claims = {"sub": sub, "jti": str(uuid.uuid4()), "iat": int(time.time())}
    return forge_jwe(claims, PASSWORD, alg=PBES2, p2c=FAST)


def _forged() -> str:
    """The configured count, a fresh random ``p2s``, no knowledge of the password."""
    return forge_jwe({"sub": "eve", "jti": "x", "iat": int(time.time())}, "a guess", alg=PBES2, p2c=FAST)


async def _get(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.get("/me", headers={"cookie": f"refresh={refresh_token}"})


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {parse_set_cookie(line)[0]: line for line in response.headers.get_list("set-cookie")}


async def test_forged_and_genuine_refresh_cookies_are_derived_off_the_event_loop(
    derivations: Derivations,
) -> None:
    app, _, errors = _app()
    async with _client(app) as client:
        forged = await _get(client, _forged())
        assert forged.status_code == 401
        assert_cleared(_set_cookies(forged)["refresh"], "refresh")  # a forged cookie is dropped, as before
        assert (await _get(client, _genuine())).status_code == 200
        assert (await client.post("/login")).status_code == 200  # sealing derives too
        assert (await client.post("/unseal", content=_genuine("bob"))).text == "bob"  # the functional API
    assert errors == [("refresh", "ERR_JWE_DECRYPTION_FAILED")]
    assert derivations.on_a_loop == [False, False, False, False]


async def test_a_busy_pool_refuses_a_new_refresh_token_without_logging_the_user_out(
    derivations: Derivations,
) -> None:
    app, refresh, errors = _app(pbes2_workers=1, pbes2_queue=1)
    genuine = _genuine()
    async with _client(app) as client:
        derivations.gate.clear()
        flood = [asyncio.ensure_future(_get(client, _forged())) for _ in range(2)]
        await until(lambda: refresh.codec.derivations.pending == 2)  # one deriving, one waiting

        refused = await _get(client, genuine)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "refresh" not in _set_cookies(refused)  # the user's cookie is neither expired nor replaced
        assert errors == [("refresh", BUSY)]

        derivations.gate.set()
        for response in await asyncio.gather(*flood):
            assert response.status_code == 401
        assert len(derivations.on_a_loop) == 2  # the refused token cost no derivation

        admitted = await _get(client, genuine)  # the pool has room again
        assert admitted.status_code == 200
        assert admitted.text == "ada"
        assert "access" in _set_cookies(admitted)
        assert (await _get(client, genuine)).status_code == 200
    assert derivations.on_a_loop == [False, False, False]  # the genuine token: derived once
    assert errors.count(("refresh", BUSY)) == 1


async def test_forged_tokens_cannot_evict_a_genuine_tokens_key(derivations: Derivations) -> None:
    # without the verified-token cache, only the derived-key cache spares a re-derivation
    app, _, _ = _app(token_cache_size=0)
    genuine = _genuine()
    async with _client(app) as client:
        assert (await _get(client, genuine)).status_code == 200
        assert len(derivations.on_a_loop) == 1
        for _ in range(300):
            assert (await _get(client, _forged())).status_code == 401
        assert len(derivations.on_a_loop) == 301
        assert (await _get(client, genuine)).status_code == 200
    assert len(derivations.on_a_loop) == 301, "the genuine token's key was evicted by forged ones"


async def test_our_own_refresh_token_reads_back_without_a_derivation(derivations: Derivations) -> None:
    app, _, _ = _app()
    async with _client(app) as client:
        login = await client.post("/login")
        token = parse_set_cookie(_set_cookies(login)["refresh"])[1]
        assert len(derivations.on_a_loop) == 1
        assert (await _get(client, token)).status_code == 200
    assert derivations.on_a_loop == [False]
