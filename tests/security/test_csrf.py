"""CSRF: the double-submit token derived from the session (``csrf=True``)."""

import dataclasses
import time
from typing import Any

import pytest
from litestar import Litestar, Request, delete, get, patch, post, put
from litestar.testing import TestClient

from litestar_jwtsession import (
    CookieOptions,
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
    use_jwe_session,
    use_jws_session,
)
from litestar_jwtsession.errors import ConfigurationError
from litestar_jwtsession.session.csrf import csrf_token, derive_csrf_secret
from tests.helpers import (
    EPOCH,
    Recorder,
    assert_cleared,
    forge_jwe,
    forge_jws,
    parse_set_cookie,
    send,
    set_cookies,
)

HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")


def _configs(**access_options: Any) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    access = JWSSessionConfig(key=HS256, name="acc", max_age="15m", **access_options)
    refresh = JWESessionConfig(key=A256KW, name="ref", max_age="7D")
    return access, refresh


def _app(access: Any, refresh: Any, *, csrf: bool | None = True) -> Litestar:
    @post("/login", status_code=200)
    async def login(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, access)
        await session.update({"sub": "alice"}, replace=True)
        await (await use_jwe_session(request, refresh)).update({"sub": "alice"}, replace=True)
        return {"csrf": session.csrf_token, "jti": session.id}

    @post("/logout", status_code=200, guards=[requires_session()])
    async def logout(request: Request[Any, Any, Any]) -> None:
        await (await use_jws_session(request, access)).clear()
        await (await use_jwe_session(request, refresh)).clear()

    async def describe(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, access)
        return {"valid": session.is_valid, "data": session.data, "csrf": session.csrf_token}

    @get("/me", guards=[requires_session()])
    async def me_get(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    @post("/me", guards=[requires_session()], status_code=200)
    async def me_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    @put("/me", guards=[requires_session()], status_code=200)
    async def me_put(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    @patch("/me", guards=[requires_session()], status_code=200)
    async def me_patch(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    @delete("/me", guards=[requires_session()], status_code=200)
    async def me_delete(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    @post("/open", status_code=200)
    async def open_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await describe(request)

    return Litestar(
        route_handlers=[login, logout, me_get, me_post, me_put, me_patch, me_delete, open_post],
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, csrf=csrf)],
    )


@pytest.fixture
def setup() -> Any:
    access, refresh = _configs()
    recorder = Recorder(access, refresh)
    with TestClient(_app(access, refresh), base_url="https://testserver.local") as client:
        yield client, access, refresh, recorder


def _login(client: TestClient[Any]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    response = send(client, "/login", method="POST")
    assert response.status_code == 200
    cookies = {name: value for name, value, _ in map(parse_set_cookie, set_cookies(response))}
    return cookies, response.json(), set_cookies(response)


def _cookie(cookies: dict[str, str], *names: str) -> str:
    return "; ".join(f"{name}={cookies[name]}" for name in names)


def test_login_writes_a_readable_csrf_cookie_bound_to_the_jti(setup: Any) -> None:
    client, access, _, _ = setup
    cookies, body, headers = _login(client)
    assert cookies["acc-csrf"] == body["csrf"] == csrf_token(access.csrf_key, body["jti"])
    assert cookies["ref-csrf"]  # the refresh session is protected too (it feeds the fallback)
    by_name = {parse_set_cookie(h)[0]: parse_set_cookie(h)[2] for h in headers}
    session_attrs, csrf_attrs = by_name["acc"], by_name["acc-csrf"]
    assert "httponly" not in csrf_attrs  # the page must read it
    for attribute in ("path", "expires", "samesite", "secure"):
        assert csrf_attrs.get(attribute) == session_attrs.get(attribute), attribute
    assert csrf_attrs["samesite"] == "Lax"  # the SameSite=Lax default stays
    assert "httponly" in by_name["ref"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_cookie_request_needs_the_token(setup: Any, method: str) -> None:
    client, _, _, recorder = setup
    cookies, body, _ = _login(client)
    cookie = _cookie(cookies, "acc", "ref")
    recorder.clear()
    response = send(client, "/me", method=method, cookie=cookie)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    [error] = recorder.of("on_error", "acc")
    assert error.code == ErrorCode.CSRF_TOKEN_INVALID == "ERR_CSRF_TOKEN_INVALID"
    # the refresh fallback did not run: no refresh read, no re-issued access cookie
    assert recorder.of("on_read", "ref") == []
    assert recorder.of("on_update") == []
    assert "acc=" not in " ".join(set_cookies(response))
    ok = send(client, "/me", method=method, cookie=cookie, headers={"x-csrf-token": body["csrf"]})
    assert ok.status_code == 200
    assert ok.json()["data"] == {"sub": "alice"}


@pytest.mark.parametrize(
    "token",
    ["", "x", "wrong-but-long-enough-wrong-but-long-enough-1234", "ref-csrf", "swapcase", " padded "],
)
def test_wrong_tokens_are_refused(setup: Any, token: str) -> None:
    client, _, _, recorder = setup
    cookies, body, _ = _login(client)
    presented = {
        "ref-csrf": cookies["ref-csrf"],  # the other session's token is not this one's
        "swapcase": body["csrf"].swapcase(),
        " padded ": f" {body['csrf']}x ",
    }.get(token, token)
    recorder.clear()
    response = send(
        client, "/me", method="POST", cookie=_cookie(cookies, "acc"), headers={"x-csrf-token": presented}
    )
    assert response.status_code == 401
    assert [c.code for c in recorder.of("on_error")] == ["ERR_CSRF_TOKEN_INVALID"]


def test_unguarded_route_sees_an_anonymous_session(setup: Any) -> None:
    client, _, _, _ = setup
    cookies, _, _ = _login(client)
    response = send(client, "/open", method="POST", cookie=_cookie(cookies, "acc"))
    assert response.status_code == 200
    assert response.json() == {"valid": False, "data": {}, "csrf": None}


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_safe_methods_need_no_token(setup: Any, method: str) -> None:
    client, _, _, recorder = setup
    cookies, _, _ = _login(client)
    recorder.clear()
    response = send(client, "/me", method=method, cookie=_cookie(cookies, "acc"))
    assert response.status_code in (200, 204)
    assert recorder.of("on_error") == []


def test_header_borne_sessions_are_exempt(setup: Any) -> None:
    client, _, _, recorder = setup
    cookies, _, _ = _login(client)
    recorder.clear()
    response = send(client, "/me", method="POST", headers={"x-acc-session": cookies["acc"]})
    assert response.status_code == 200
    assert response.json()["data"] == {"sub": "alice"}
    assert recorder.of("on_error") == []


def test_refresh_fallback_on_unsafe_request_needs_the_refresh_token(setup: Any) -> None:
    client, access, _, recorder = setup
    cookies, _, _ = _login(client)
    refresh_only = _cookie(cookies, "ref")  # the browser dropped the lapsed access cookie
    recorder.clear()
    refused = send(client, "/me", method="POST", cookie=refresh_only)
    assert refused.status_code == 401
    assert [c.code for c in recorder.of("on_error", "ref")] == ["ERR_CSRF_TOKEN_INVALID"]
    assert not any(h.startswith("acc=") for h in set_cookies(refused))
    response = send(
        client, "/me", method="POST", cookie=refresh_only, headers={"x-csrf-token": cookies["ref-csrf"]}
    )
    assert response.status_code == 200
    issued = {name: value for name, value, _ in map(parse_set_cookie, set_cookies(response))}
    assert issued["acc-csrf"] == response.json()["csrf"]
    assert issued["acc-csrf"] == csrf_token(access.csrf_key, recorder.of("on_update", "acc")[-1].id)


def test_expired_cookie_on_forged_request_does_not_reach_on_expire(setup: Any) -> None:
    client, _, _, recorder = setup
    now = int(time.time())
    expired = forge_jws({"jti": "old", "iat": now - 100, "exp": now - 10, "sub": "alice"}, HS256)
    recorder.clear()
    response = send(client, "/me", method="POST", cookie=f"acc={expired}")
    assert response.status_code == 401
    assert recorder.counts("acc") == {"on_error": 1}
    assert recorder.of("on_error")[0].code == "ERR_CSRF_TOKEN_INVALID"


def test_logout_expires_the_csrf_cookies(setup: Any) -> None:
    client, _, _, _ = setup
    cookies, body, _ = _login(client)
    response = send(
        client,
        "/logout",
        method="POST",
        cookie=_cookie(cookies, "acc", "ref"),
        headers={"x-csrf-token": body["csrf"]},
    )
    assert response.status_code == 200
    by_name = {parse_set_cookie(h)[0]: h for h in set_cookies(response)}
    for name in ("acc-csrf", "ref-csrf"):
        assert_cleared(by_name[name], name)
        assert "HttpOnly" not in by_name[name]
    assert parse_set_cookie(by_name["acc"])[2]["expires"] == EPOCH


def test_csrf_is_off_by_default() -> None:
    access, refresh = _configs()
    assert not access.csrf
    assert not refresh.csrf
    with TestClient(_app(access, refresh, csrf=None), base_url="https://testserver.local") as client:
        cookies, _, _ = _login(client)
        assert "acc-csrf" not in cookies
        assert send(client, "/me", method="POST", cookie=_cookie(cookies, "acc")).status_code == 200


def test_config_opt_in_and_refresh_inherits_it() -> None:
    """What the plugin decides is its own: the configs (often shared by several apps) stay as
    declared."""
    access, refresh = _configs(csrf=True)
    plugin = JWTSessionPlugin(access=access, refresh=refresh)
    # otherwise the fallback would serve a forged request from the refresh cookie
    assert plugin.csrf_sessions == {"acc", "ref"}
    assert JWTSessionPlugin(access=access, refresh=refresh, refresh_fallback=False).csrf_sessions == {"acc"}
    assert JWTSessionPlugin(access=access, refresh=refresh, csrf=False).csrf_sessions == frozenset()
    assert access.csrf
    assert not refresh.csrf  # never written back


def test_header_only_configs_need_no_csrf() -> None:
    config = JWSSessionConfig(key=HS256, name="hdr", cookie=False, csrf=True)
    assert config.csrf is False


def test_csrf_cookie_name_must_not_collide() -> None:
    access = JWSSessionConfig(key=HS256, name="app", csrf=True)
    other = JWSSessionConfig(key=HS256, name="app-csrf")
    with pytest.raises(ConfigurationError, match="cookie name"):
        JWTSessionPlugin(access=access, sessions=[other])


def test_secret_is_derived_from_the_key_and_agrees_across_instances() -> None:
    one = JWSSessionConfig(key=HS256, name="acc")
    two = JWSSessionConfig(key=dict(HS256), name="acc")
    assert one.csrf_key == two.csrf_key == derive_csrf_secret(HS256, "acc")
    assert JWSSessionConfig(key=generate_jwk("HS256"), name="acc").csrf_key != one.csrf_key
    assert JWSSessionConfig(key=HS256, name="other").csrf_key != one.csrf_key
    assert (
        JWESessionConfig(key="pw" * 10, name="p").csrf_key
        == JWESessionConfig(key="pw" * 10, name="p").csrf_key
    )
    pair = generate_jwk("ES256")
    assert JWSSessionConfig(key=pair, name="es").csrf_key == JWSSessionConfig(key=pair, name="es").csrf_key
    assert one.csrf_key not in (HS256["k"].encode(), b"")


def test_explicit_secret() -> None:
    secret = b"s" * 32
    config = JWSSessionConfig(key=HS256, name="acc", csrf_secret=secret)
    assert config.csrf_key == secret
    with pytest.raises(ConfigurationError, match="csrf_secret"):
        JWSSessionConfig(key=HS256, name="acc", csrf_secret=b"short")
    with pytest.raises(ConfigurationError, match="csrf_header"):
        JWSSessionConfig(key=HS256, name="acc", csrf_header="bad header")


def test_custom_header_and_token_interop_is_untouched() -> None:
    access, refresh = _configs(csrf=True, csrf_header="X-XSRF-Token")
    assert access.csrf_header == "x-xsrf-token"
    with TestClient(_app(access, refresh), base_url="https://testserver.local") as client:
        cookies, body, _ = _login(client)
        cookie = _cookie(cookies, "acc")
        assert (
            send(
                client, "/me", method="POST", cookie=cookie, headers={"x-csrf-token": body["csrf"]}
            ).status_code
            == 401
        )
        assert (
            send(
                client, "/me", method="POST", cookie=cookie, headers={"X-XSRF-Token": body["csrf"]}
            ).status_code
            == 200
        )
    # the token itself carries no CSRF claim: a peer (unjwt) reads the same payload as before
    from tests.helpers import jws_claims

    assert set(jws_claims(cookies["acc"])) == {"sub", "jti", "iat", "exp"}


def test_token_from_a_foreign_valid_session_is_refused() -> None:
    """A token forged for one jti is useless with a session of another jti (no fixation by cookie tossing)."""
    access, refresh = _configs()
    with TestClient(_app(access, refresh), base_url="https://testserver.local") as client:
        now = int(time.time())
        victim = forge_jws({"jti": "victim", "iat": now, "sub": "alice"}, HS256)
        attacker_token = csrf_token(access.csrf_key, "attacker")
        response = send(
            client, "/me", method="POST", cookie=f"acc={victim}", headers={"x-csrf-token": attacker_token}
        )
        assert response.status_code == 401
        refresh_cookie = forge_jwe({"jti": "r1", "iat": now, "sub": "alice"}, A256KW, enc="A256GCM")
        assert dataclasses.is_dataclass(refresh)
        response = send(
            client,
            "/me",
            method="POST",
            cookie=f"ref={refresh_cookie}",
            headers={"x-csrf-token": csrf_token(refresh.csrf_key, "r1")},
        )
        assert response.status_code == 200
        assert response.json()["data"] == {"sub": "alice"}


def test_samesite_default_stays_lax() -> None:
    assert CookieOptions().samesite == "lax"


def test_csrf_needs_a_secret_when_the_key_pair_is_public_only() -> None:
    from litestar_jwtsession import JWSSessionConfig, JWTSessionPlugin, KeyPair, generate_jwk
    from litestar_jwtsession.errors import ConfigurationError

    pair = generate_jwk("ES256")
    assert isinstance(pair, KeyPair)
    verify_only = KeyPair(public_key=pair.public_key)
    with pytest.raises(ConfigurationError, match="csrf_secret"):
        JWSSessionConfig(key=verify_only, name="verify-only", csrf=True)
    config = JWSSessionConfig(key=verify_only, name="verify-only")  # fine while CSRF is off
    with pytest.raises(ConfigurationError, match="csrf_secret"):
        JWTSessionPlugin(access=config, csrf=True)
    with_secret = JWSSessionConfig(key=verify_only, name="verify-only", csrf=True, csrf_secret=b"s" * 32)
    assert with_secret.csrf_key == b"s" * 32
