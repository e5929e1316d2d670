"""``log_in`` / ``log_out`` against a real app: the tokens it mints are the library's own."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient, TestClient

from litestar_jwtsession import (
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionClaims,
    generate_jwk,
    requires_session,
)
from litestar_jwtsession.testing import (
    SessionClock,
    assert_session_cookies,
    drop_expired_cookies,
    log_in,
    log_out,
)
from tests.testing.support import (
    ACCESS,
    ACCESS_MAX_AGE,
    API,
    BASE_URL,
    CHUNK,
    CHUNKY,
    REFRESH,
    create_app,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

ALICE = {"sub": "alice", "scope": ["read"]}


@pytest.fixture
def client(session_clock: SessionClock) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(session_clock), base_url=BASE_URL) as client:
        yield client


def payload(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]


def test_a_logged_in_client_passes_the_guard(client: TestClient[Any]) -> None:
    assert client.get("/whoami").status_code == 401
    issued = log_in(client, ALICE)
    response = client.get("/whoami")
    assert response.status_code == 200, response.text
    assert response.json()["claims"] == issued.claims
    assert issued.name == ACCESS
    assert issued.via == "cookie"
    assert client.cookies[ACCESS] == issued.token
    assert_session_cookies(response)  # a valid session: nothing re-issued


def test_claims_are_minted_as_the_library_mints_them(
    client: TestClient[Any], session_clock: SessionClock
) -> None:
    session_clock.advance(0.7)  # iat is the clock in whole seconds
    issued = log_in(client, {**ALICE, "jti": "ignored", "exp": 1})
    by_route = client.post("/login/access", json=ALICE).json()
    ours, theirs = payload(issued.token), payload(by_route["token"])
    assert set(ours) == set(theirs) == {"sub", "scope", "jti", "iat", "exp"}
    assert ours["iat"] == theirs["iat"] == int(session_clock.now)
    assert ours["exp"] == theirs["exp"] == ours["iat"] + ACCESS_MAX_AGE
    assert ours["jti"] not in ("ignored", theirs["jti"])
    assert issued.id == ours["jti"]
    assert issued.expires_at == ours["exp"] * 1000
    # the same protected header (alg, kid, typ, cty): signed with the config's own codec
    assert issued.token.split(".")[0] == by_route["token"].split(".")[0]


def test_the_config_generate_id_names_the_session(session_clock: SessionClock) -> None:
    app = create_app(session_clock, generate_id=lambda: "session-1")
    with TestClient(app, base_url=BASE_URL) as client:
        assert log_in(client, ALICE).id == "session-1"
        assert client.get("/session/access").json()["id"] == "session-1"


def test_a_struct_is_accepted_as_update_accepts_it(client: TestClient[Any]) -> None:
    class Claims(SessionClaims):
        name: str

    issued = log_in(client, Claims(sub="alice", name="Alice"))
    assert client.get("/session/access").json()["data"] == {"sub": "alice", "name": "Alice"}
    assert "scope" not in issued.claims  # unset optional claims are left out


def test_a_refresh_session_alone_feeds_the_refresh_fallback(client: TestClient[Any]) -> None:
    sealed = log_in(client, ALICE, session=REFRESH)
    assert sealed.token.count(".") == 4  # a JWE, sealed with the app's refresh key
    response = client.get("/whoami")
    assert response.status_code == 200, response.text
    reissued = assert_session_cookies(response, set={ACCESS})[ACCESS]
    assert payload(reissued.token or "")["sub"] == "alice"


def test_a_long_token_is_chunked_as_the_library_chunks_it(client: TestClient[Any]) -> None:
    claims = {"sub": "alice", "note": "x" * 300}
    by_route = assert_session_cookies(client.post("/login/chunky", json=claims), set={CHUNKY})[CHUNKY]
    issued = log_in(client, claims, session=CHUNKY)
    names = sorted(cookie.name for cookie in client.cookies.jar)
    count = -(-len(issued.token) // CHUNK)
    assert count == by_route.chunks > 1  # same size, same chunking
    assert names == sorted([CHUNKY, *(f"{CHUNKY}.{index}" for index in range(1, count + 1))])
    assert client.cookies[CHUNKY] == f"__chunked__{count}"
    assert "".join(client.cookies[f"{CHUNKY}.{index}"] for index in range(1, count + 1)) == issued.token
    assert client.get("/session/chunky").json()["data"] == claims


def test_a_header_only_session_travels_in_its_header(client: TestClient[Any]) -> None:
    issued = log_in(client, ALICE, session=API)
    assert issued.via == "header"
    assert client.headers["authorization"] == f"Bearer {issued.token}"
    assert not client.cookies
    assert client.get("/session/api").json()["data"] == ALICE
    log_out(client, session=API)
    assert "authorization" not in client.headers
    assert client.get("/session/api").json()["data"] == {}


def test_a_cookie_session_can_be_sent_in_its_header(client: TestClient[Any]) -> None:
    issued = log_in(client, ALICE, via="header")
    assert not client.cookies
    assert client.headers["x-access-session"] == issued.token
    assert client.get("/whoami").status_code == 200


def test_logging_in_again_replaces_the_session(client: TestClient[Any]) -> None:
    log_in(client, {"sub": "x", "note": "y" * 400}, session=CHUNKY)
    log_in(client, {"sub": "bob"}, session=CHUNKY)
    assert client.get("/session/chunky").json()["data"] == {"sub": "bob"}
    chunks = [cookie.name for cookie in client.cookies.jar if cookie.name.startswith(f"{CHUNKY}.")]
    assert len(chunks) == int(client.cookies[CHUNKY].removeprefix("__chunked__"))


def test_log_out_forgets_the_session(client: TestClient[Any]) -> None:
    log_in(client, ALICE)
    log_out(client)
    assert not client.cookies
    assert client.get("/whoami").status_code == 401


def test_a_csrf_protected_session_gets_its_companion(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock, csrf=True), base_url=BASE_URL) as client:
        issued = log_in(client, ALICE)
        assert issued.csrf_token
        assert client.cookies[f"{ACCESS}-csrf"] == issued.csrf_token
        # the value the app itself computes for this session
        assert client.post("/write").status_code == 401
        assert client.post("/write", headers={"x-csrf-token": issued.csrf_token}).status_code == 200
        log_out(client)
        assert not client.cookies


def test_claims_the_config_refuses_fail_early(session_clock: SessionClock) -> None:
    with TestClient(create_app(session_clock, issuer="https://issuer"), base_url=BASE_URL) as client:
        with pytest.raises(ValueError, match="would refuse these claims"):
            log_in(client, ALICE)
        log_in(client, {**ALICE, "iss": "https://issuer"})
        assert client.get("/whoami").status_code == 200

    class Strict(msgspec.Struct):
        sub: str
        age: int

    with (
        TestClient(create_app(session_clock, claims=Strict), base_url=BASE_URL) as client,
        pytest.raises(ValueError, match="do not match Strict"),
    ):
        log_in(client, {"sub": "alice", "age": "old"})


def test_wrong_uses_say_what_is_wrong(session_clock: SessionClock) -> None:
    app = create_app(session_clock)
    with TestClient(app) as plain_http, pytest.raises(ValueError, match="https base URL"):
        log_in(plain_http, ALICE)
    with TestClient(app, base_url=BASE_URL) as client:
        with pytest.raises(ValueError, match="no session named 'nope'; its sessions: 'access', 'refresh'"):
            log_in(client, ALICE, session="nope")
        with pytest.raises(ValueError, match="use via='header'"):
            log_in(client, ALICE, session=API, via="cookie")


async def test_an_async_client_is_logged_in_and_follows_the_clock(session_clock: SessionClock) -> None:
    async with AsyncTestClient(create_app(session_clock), base_url=BASE_URL) as client:
        drop_expired_cookies(client, session_clock)
        log_in(client, ALICE)
        assert (await client.get("/whoami")).status_code == 200
        session_clock.advance(ACCESS_MAX_AGE)
        response = await client.get("/whoami")
        assert response.status_code == 401
        assert_session_cookies(response)  # the lapsed cookie was not sent, so nothing to clear


def test_log_in_mints_a_login_within_the_apps_absolute_lifetime(session_clock: SessionClock) -> None:
    """Under ``absolute_lifetime`` the token carries its login's start (``fat``) and no ``exp``
    beyond its end, as ``update(claims, replace=True)`` would mint it."""
    access = JWSSessionConfig(key=generate_jwk("HS256"), name="access", max_age="2h", clock=session_clock)

    @get("/me", guards=[requires_session()])
    async def me() -> str:
        return "ok"

    app = Litestar([me], plugins=[JWTSessionPlugin(access=access, absolute_lifetime="1h")])
    with TestClient(app, base_url=BASE_URL) as http:
        issued = log_in(http, ALICE)
        start = int(session_clock.now)
        assert issued.claims["fat"] == start
        assert issued.claims["exp"] == start + 3600  # not two hours
        assert http.get("/me").status_code == 200
        session_clock.advance("1h")
        assert http.get("/me").status_code == 401
