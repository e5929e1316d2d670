"""CSRF is per request, and never a way to log a victim out (issue findings 2 to 6).

- one readable token proves every cookie session of the request (of the same subject);
- ``clear()`` revokes what the request carried even when it failed CSRF;
- ``csrf=True`` on a header-only access config still protects the refresh cookie behind it;
- a failed CSRF check changes no cookie and revokes nothing;
- the refresh fallback never admits what the access reader would refuse;
- a password key's CSRF secret costs at least its PBES2 count to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import (
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionError,
    generate_jwk,
    requires_session,
    use_jwe_session,
    use_jws_session,
)
from litestar_jwtsession.session.csrf import csrf_token, derive_csrf_secret
from tests.helpers import FakeClock, Recorder, forge_jwe, parse_set_cookie, send, set_cookies

HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
BASE = "https://testserver.local"


def _configs(**access_options: Any) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    access = JWSSessionConfig(key=HS256, name="acc", max_age="15m", **access_options)
    refresh = JWESessionConfig(key=A256KW, name="ref", max_age="7D")
    return access, refresh


def _app(access: Any, refresh: Any, **plugin: Any) -> Litestar:
    @post("/login", status_code=200)
    async def login(request: Request[Any, Any, Any]) -> dict[str, Any]:
        user = request.query_params.get("user", "alice")
        session = await use_jws_session(request, access)
        await session.update({"sub": user}, replace=True)
        await (await use_jwe_session(request, refresh)).update({"sub": user}, replace=True)
        return {"csrf": session.csrf_token}

    @post("/logout", status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> None:
        await (await use_jws_session(request, access)).clear()
        await (await use_jwe_session(request, refresh)).clear()

    @post("/sessions", status_code=200)
    async def sessions(request: Request[Any, Any, Any]) -> dict[str, Any]:
        acc = await use_jws_session(request, access)
        ref = await use_jwe_session(request, refresh)
        return {"acc": acc.is_valid, "ref": ref.is_valid}

    @get("/me", guards=[requires_session()])
    async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return dict((await use_jws_session(request, access)).data)

    @post("/me", guards=[requires_session()], status_code=200)
    async def me_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return dict((await use_jws_session(request, access)).data)

    return Litestar(
        [login, logout, sessions, me, me_post],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, **plugin)],
    )


def _cookies(response: Any) -> dict[str, str]:
    return {name: value for name, value, _ in map(parse_set_cookie, set_cookies(response))}


def _login(client: TestClient[Any], user: str = "alice") -> dict[str, str]:
    response = send(client, f"/login?user={user}", method="POST")
    assert response.status_code == 200
    return _cookies(response)


# --------------------------------------------------------------------------- finding 3


def test_logout_with_the_access_token_revokes_the_refresh_session() -> None:
    """The documented recipe (copy the access session's -csrf cookie into the header) proves the
    refresh cookie too, so the logout really revokes it: replaying it later is refused."""
    access, refresh = _configs()
    with TestClient(_app(access, refresh, csrf=True, store=MemoryStore()), base_url=BASE) as client:
        cookies = _login(client)
        both = f"acc={cookies['acc']}; ref={cookies['ref']}"
        out = send(
            client, "/logout", method="POST", cookie=both, headers={"x-csrf-token": cookies["acc-csrf"]}
        )
        assert out.status_code == 200
        assert _cookies(out)["ref"] == ""  # expired
        replay = send(client, "/me", cookie=f"ref={cookies['ref']}")
        assert replay.status_code == 401
        assert "acc=" not in " ".join(set_cookies(replay))


@pytest.mark.parametrize("which", ["acc-csrf", "ref-csrf"])
def test_either_readable_token_proves_every_cookie_session(which: str) -> None:
    access, refresh = _configs()
    recorder = Recorder(access, refresh)
    with TestClient(_app(access, refresh, csrf=True), base_url=BASE) as client:
        cookies = _login(client)
        recorder.clear()
        both = f"acc={cookies['acc']}; ref={cookies['ref']}"
        response = send(
            client, "/sessions", method="POST", cookie=both, headers={"x-csrf-token": cookies[which]}
        )
        assert response.json() == {"acc": True, "ref": True}
        assert recorder.of("on_error") == []


def test_a_session_of_another_subject_vouches_for_nothing() -> None:
    """Cookie tossing: a planted (genuine) access cookie of the attacker's own account and its CSRF
    token do not prove the victim's refresh cookie."""
    access, refresh = _configs()
    with TestClient(_app(access, refresh, csrf=True), base_url=BASE) as client:
        victim = _login(client, "alice")
        attacker = _login(client, "mallory")
        mixed = f"acc={attacker['acc']}; ref={victim['ref']}"
        response = send(
            client, "/sessions", method="POST", cookie=mixed, headers={"x-csrf-token": attacker["acc-csrf"]}
        )
        assert response.json() == {"acc": True, "ref": False}


def test_a_wrong_token_proves_nothing_even_with_two_sessions() -> None:
    access, refresh = _configs()
    with TestClient(_app(access, refresh, csrf=True), base_url=BASE) as client:
        cookies = _login(client)
        both = f"acc={cookies['acc']}; ref={cookies['ref']}"
        forged = csrf_token(access.csrf_key, "someone-else")
        response = send(client, "/sessions", method="POST", cookie=both, headers={"x-csrf-token": forged})
        assert response.json() == {"acc": False, "ref": False}


def test_clear_revokes_a_session_that_failed_csrf() -> None:
    """``clear()`` on a request whose CSRF check failed still revokes the tokens it carried."""
    access, refresh = _configs()
    with TestClient(_app(access, refresh, csrf=True, store=MemoryStore()), base_url=BASE) as client:
        cookies = _login(client)
        both = f"acc={cookies['acc']}; ref={cookies['ref']}"
        assert send(client, "/logout", method="POST", cookie=both).status_code == 200  # no CSRF header
        assert send(client, "/me", cookie=f"acc={cookies['acc']}").status_code == 401
        assert send(client, "/me", cookie=f"ref={cookies['ref']}").status_code == 401


# --------------------------------------------------------------------------- finding 4


def test_csrf_on_a_header_only_access_config_protects_the_refresh_cookie() -> None:
    access = JWSSessionConfig(key=HS256, name="acc", cookie=False, session_header="authorization", csrf=True)
    refresh = JWESessionConfig(key=A256KW, name="ref", max_age="7D")
    now = int(time.time())
    token = forge_jwe({"jti": "r1", "iat": now, "sub": "alice"}, A256KW, enc="A256GCM")
    with TestClient(_app(access, refresh), base_url=BASE) as client:
        forged = send(client, "/me", method="POST", cookie=f"ref={token}")
        assert forged.status_code == 401
        proven = send(
            client,
            "/me",
            method="POST",
            cookie=f"ref={token}",
            headers={"x-csrf-token": csrf_token(refresh.csrf_key, "r1")},
        )
        assert proven.status_code == 200
        assert proven.json() == {"sub": "alice"}


# --------------------------------------------------------------------------- finding 5


@pytest.mark.parametrize("store", [None, "memory"])
def test_a_failed_csrf_check_does_not_log_the_victim_out(store: str | None) -> None:
    access, refresh = _configs()
    kwargs: dict[str, Any] = {"csrf": True}
    if store:
        kwargs["store"] = MemoryStore()
    recorder = Recorder(access, refresh)
    with TestClient(_app(access, refresh, **kwargs), base_url=BASE) as client:
        cookies = _login(client)
        recorder.clear()
        forged = send(client, "/me", method="POST", cookie=f"ref={cookies['ref']}")
        assert forged.status_code == 401
        assert set_cookies(forged) == []  # no cookie expired, none written
        assert [call.code for call in recorder.of("on_error", "ref")] == [ErrorCode.CSRF_TOKEN_INVALID]
        # the victim's next (safe) request is still served from the same refresh cookie
        assert send(client, "/me", cookie=f"ref={cookies['ref']}").status_code == 200


# --------------------------------------------------------------------------- finding 6


def test_the_fallback_does_not_admit_what_the_access_reader_refuses() -> None:
    access, refresh = _configs(required_claims=("role",))
    recorder = Recorder(access, refresh)
    token = forge_jwe({"jti": "r1", "iat": int(time.time()), "sub": "guest"}, A256KW, enc="A256GCM")
    with TestClient(_app(access, refresh), base_url=BASE) as client:
        response = send(client, "/me", cookie=f"ref={token}")
        assert response.status_code == 401
        assert "acc=" not in " ".join(set_cookies(response))
        assert [call.code for call in recorder.of("on_error", "acc")] == [ErrorCode.JWT_CLAIM_MISSING]


@pytest.mark.parametrize(
    ("options", "data"),
    [
        ({"required_claims": ("role",)}, {"sub": "a"}),
        ({"issuer": "https://issuer.example"}, {"sub": "a"}),
        ({"audience": "api"}, {"sub": "a", "aud": "other"}),
        ({"subject": "a"}, {"sub": "b"}),
        ({}, {"nbf": 4_000_000_000}),
    ],
)
async def test_update_never_writes_a_token_its_reader_would_refuse(
    options: dict[str, Any], data: Any
) -> None:
    config = JWSSessionConfig(key=HS256, name="acc", **options)
    seen: list[str] = []
    config.hooks.on_error(lambda event: seen.append(event.error.code))

    @post("/write", status_code=200)
    async def write(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, config)
        try:
            await session.update(data, replace=True)
        except SessionError as error:
            return {"error": error.code, "id": session.id, "data": session.data}
        return {"error": None}

    with TestClient(Litestar([write], plugins=[JWTSessionPlugin(access=config)]), base_url=BASE) as client:
        response = send(client, "/write", method="POST")
        assert response.json()["error"] in (
            ErrorCode.JWT_CLAIM_MISSING,
            ErrorCode.JWT_CLAIM_INVALID,
            ErrorCode.JWT_NBF,
        )
        assert response.json()["id"] is None
        assert response.json()["data"] == {}
        assert set_cookies(response) == []
        assert len(seen) == 1


# --------------------------------------------------------------------------- finding 2


def test_a_password_csrf_secret_is_stretched_at_the_pbes2_count() -> None:
    """One HMAC of the password would make the readable CSRF cookie a cheap password oracle."""
    password = "correct horse battery staple"
    config = JWESessionConfig(key=password, name="ref", pbes2_iterations=1000)
    label = b"litestar-jwtsession csrf v1\x00ref"
    assert config.csrf_key == hashlib.pbkdf2_hmac("sha256", password.encode(), label, 1000)
    assert config.csrf_key != hmac.new(password.encode(), label, hashlib.sha256).digest()
    assert derive_csrf_secret(password, "ref", 1001) != config.csrf_key  # the count is part of it
    assert JWESessionConfig(key=password, name="ref").csrf_key == derive_csrf_secret(password, "ref", 600_000)


def test_refresh_bookkeeping_never_reaches_the_access_token() -> None:
    """The rotation family (the first refresh token's ``jti``) stays inside the sealed refresh
    token; the access token carries only an opaque handle of it."""
    from tests.helpers import jws_claims

    access, refresh = _configs()
    with TestClient(_app(access, refresh, store=MemoryStore()), base_url=BASE) as client:
        cookies = _login(client)
        response = send(client, "/me", cookie=f"ref={cookies['ref']}")
        assert response.status_code == 200
        claims = jws_claims(_cookies(response)["acc"])
        assert "fam" not in claims
        assert "fam" not in response.json()
        assert isinstance(claims["fid"], str)
        assert len(claims["fid"]) == 24


def test_an_expired_access_cookie_and_its_own_csrf_token_renew_on_an_unsafe_request() -> None:
    """The access cookie lapsed but the browser still sends it (its Expires is a little later),
    with the access session's CSRF token in the header: the token proves the request, so the
    refresh fallback re-issues the access session instead of refusing the refresh cookie."""
    clock = FakeClock(time.time())
    access = JWSSessionConfig(key=HS256, name="acc", max_age="15m", clock=clock)
    refresh = JWESessionConfig(key=A256KW, name="ref", max_age="7D", clock=clock)
    with TestClient(_app(access, refresh, csrf=True), base_url=BASE) as client:
        cookies = _login(client)
        clock.now += 16 * 60
        both = f"acc={cookies['acc']}; ref={cookies['ref']}"
        headers = {"x-csrf-token": cookies["acc-csrf"]}
        response = send(client, "/me", method="POST", cookie=both, headers=headers)
        assert response.status_code == 200
        assert response.json()["sub"] == "alice"
        assert _cookies(response)["acc"]  # re-issued
        forged = send(client, "/me", method="POST", cookie=both, headers={"x-csrf-token": "forged"})
        assert forged.status_code == 401  # without the token, the expired cookie proves nothing
