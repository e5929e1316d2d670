"""Upstream groups C ("hooks", tests 21-22) and D ("hook args", tests 23-33)."""

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    use_jwe_session,
    use_jws_session,
)

from ._support import (
    Counter,
    FakeClock,
    first_cookie,
    seal_with_joserfc,
    send,
    set_cookies,
    sign_with_joserfc,
)


def _client(config: Any, *handlers: Any) -> TestClient[Any]:
    return TestClient(Litestar(route_handlers=list(handlers), plugins=[JWTSessionPlugin(sessions=[config])]))


def _old_token(event: Any) -> Any:
    return None if event.old_session is None else event.old_session.token


# --- C. hooks -------------------------------------------------------------------------------------


def test_21_jwe_uses_key_lookup_to_find_the_correct_key(
    jwe_lookup_a: dict[str, Any], jwe_lookup_b: dict[str, Any]
) -> None:
    cfg = JWESessionConfig(name="h3-jwe-lookup", key=jwe_lookup_b)
    headers: list[Any] = []

    @cfg.hooks.on_key_lookup
    def lookup(event: Any) -> dict[str, Any]:
        headers.append(dict(event.header))
        if event.header.get("kid") == "test-key-1":
            return jwe_lookup_a
        raise LookupError("Key not found")

    token = seal_with_joserfc({"jti": "123", "iat": int(time.time()), "foo": "bar"}, jwe_lookup_a)

    @get("/")
    async def read(request: Request) -> dict[str, Any]:
        return {"session": await use_jwe_session(request, cfg)}

    with _client(cfg, read) as client:
        response = send(client, "GET", "/", cookie=f"h3-jwe-lookup={token}")
    assert response.status_code == 200, response.text
    assert headers, "on_key_lookup was not called"
    assert headers[0]["kid"] == "test-key-1"
    assert headers[0]["alg"] == "A256GCMKW"
    assert response.json()["session"]["data"] == {"foo": "bar"}


def test_22_jws_uses_key_lookup_to_find_the_correct_key(jws_lookup_a: KeyPair, jws_lookup_b: KeyPair) -> None:
    cfg = JWSSessionConfig(name="h3-jws-lookup", key=jws_lookup_b)
    headers: list[Any] = []

    @cfg.hooks.on_key_lookup
    def lookup(event: Any) -> Any:
        headers.append(dict(event.header))
        if event.header.get("kid") == "test-key-1":
            return jws_lookup_a.public_key
        raise LookupError("Key not found")

    token = sign_with_joserfc({"jti": "123", "iat": int(time.time()), "foo": "bar"}, jws_lookup_a.private_key)

    @get("/")
    async def read(request: Request) -> dict[str, Any]:
        return {"session": await use_jws_session(request, cfg)}

    with _client(cfg, read) as client:
        response = send(client, "GET", "/", cookie=f"h3-jws-lookup={token}")
    assert response.status_code == 200, response.text
    assert headers, "on_key_lookup was not called"
    assert headers[0]["kid"] == "test-key-1"
    assert response.json()["session"]["data"] == {"foo": "bar"}


# --- D. hook args ---------------------------------------------------------------------------------


def _update_token_args(cfg: Any, use: Any) -> None:
    """Tests 23/27: on_update sees the new token in ``session`` and the previous one in ``old_session``."""
    records: list[dict[str, Any]] = []

    @cfg.hooks.on_update
    def record(event: Any) -> None:
        records.append({"token": event.session.token, "old_token": _old_token(event), "id": event.session.id})

    @get("/")
    async def handler(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        await session.update({"step": 1})
        await session.update({"step": 2})
        return {"token": session.token}

    with _client(cfg, handler) as client:
        response = send(client, "GET", "/")
    assert response.status_code == 200, response.text
    assert len(records) == 2
    assert records[0]["old_token"] is None
    assert isinstance(records[0]["token"], str)
    assert records[0]["id"] == "1"
    assert records[1]["old_token"] == records[0]["token"]
    assert records[1]["token"] != records[0]["token"]
    assert records[1]["id"] == "2"
    assert response.json()["token"] == records[1]["token"]


def test_23_jwe_on_update_session_token_is_new_jwt_old_session_token_previous(
    jwe_oct_key: dict[str, Any],
) -> None:
    cfg = JWESessionConfig(name="h3-jwe-hook-args", key=jwe_oct_key, generate_id=Counter())
    _update_token_args(cfg, use_jwe_session)


def test_24_jwe_on_update_fires_when_update_called_without_data(jwe_oct_key: dict[str, Any]) -> None:
    cfg = JWESessionConfig(name="h3-jwe-hook-no-data", key=jwe_oct_key)
    calls: list[Any] = []
    cfg.hooks.on_update(calls.append)

    @get("/")
    async def handler(request: Request) -> dict[str, Any]:
        session = await use_jwe_session(request, cfg)
        await session.update()
        return {"token": session.token}

    with _client(cfg, handler) as client:
        response = send(client, "GET", "/")
    assert response.status_code == 200, response.text
    assert len(calls) == 1
    assert response.json()["token"]


def _clear_with_cookie_false(cfg: Any, use: Any, header: str) -> None:
    """Tests 25/31: on_clear fires with cookies disabled and gets the cleared token."""
    cleared: list[Any] = []

    @cfg.hooks.on_clear
    def record(event: Any) -> None:
        cleared.append(_old_token(event))

    @get("/init")
    async def init(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        await session.update({})
        return {"token": session.token}

    @get("/clear")
    async def clear(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        await session.clear()
        return {"ok": True}

    with _client(cfg, init, clear) as client:
        token = send(client, "GET", "/init").json()["token"]
        assert token
        response = send(client, "GET", "/clear", headers={header: token})
    assert response.status_code == 200, response.text
    assert set_cookies(response) == []
    assert len(cleared) == 1
    assert isinstance(cleared[0], str)
    assert cleared[0] == token


def test_25_jwe_on_clear_fires_with_cookie_false_and_receives_old_session(
    jwe_oct_key: dict[str, Any],
) -> None:
    cfg = JWESessionConfig(name="h3-jwe-hook-clear-nocookie", key=jwe_oct_key, cookie=False)
    _clear_with_cookie_false(cfg, use_jwe_session, "x-h3-jwe-hook-clear-nocookie-session")


def test_26_jwe_on_read_and_on_expire_session_token_reflects_current_jwt(jwe_oct_key: dict[str, Any]) -> None:
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    name = "h3-jwe-hook-token-args"
    cfg = JWESessionConfig(name=name, key=jwe_oct_key, max_age=1, generate_id=Counter(), clock=clock)
    read_tokens: list[Any] = []
    expire_tokens: list[Any] = []

    @cfg.hooks.on_read
    def on_read(event: Any) -> None:
        read_tokens.append(event.session.token)

    @cfg.hooks.on_expire
    def on_expire(event: Any) -> None:
        expire_tokens.append(event.session.token)

    @get("/")
    async def read(request: Request) -> dict[str, Any]:
        session = await use_jwe_session(request, cfg)
        return {"token": session.token}

    @post("/", status_code=200)
    async def write(request: Request) -> dict[str, Any]:
        session = await use_jwe_session(request, cfg)
        await session.update({})
        return {"token": session.token}

    with _client(cfg, read, write) as client:
        # 1. no incoming token: on_read does not fire
        send(client, "POST", "/")
        assert read_tokens == []
        # 2. a fresh session cookie
        cookie = first_cookie(send(client, "POST", "/"))
        assert cookie.startswith(f"{name}=")
        token = cookie.split("=", 1)[1]
        # 3. read it back within max_age
        response = send(client, "GET", "/", cookie=cookie)
        assert response.status_code == 200, response.text
        assert read_tokens
        assert isinstance(read_tokens[-1], str)
        assert read_tokens[-1] == token
        reads_before_expiry = len(read_tokens)
        # 4. five seconds later the token (max_age 1) has expired
        clock.now += 5
        response = send(client, "GET", "/", cookie=cookie)
    assert response.status_code == 200, response.text
    assert expire_tokens
    assert isinstance(expire_tokens[0], str)
    assert expire_tokens[0] == token
    # on_read and on_expire are exclusive for one incoming token
    assert len(read_tokens) == reads_before_expiry
    # G8 fixed: the expired cookie is cleared in that response
    cleared = [h for h in set_cookies(response) if h.startswith(f"{name}=")]
    assert cleared
    assert cleared[0].startswith(f"{name}=;") or cleared[0].split(";", 1)[0] == f"{name}="


def test_27_jws_on_update_session_token_is_new_jwt_old_session_token_previous(
    jws_oct_key: dict[str, Any],
) -> None:
    cfg = JWSSessionConfig(name="h3-jws-hook-args", key=jws_oct_key, generate_id=Counter())
    _update_token_args(cfg, use_jws_session)


def test_28_jws_on_update_old_session_data_is_deep_pre_update_snapshot(jws_oct_key: dict[str, Any]) -> None:
    cfg = JWSSessionConfig(name="h3-jws-deep-snapshot", key=jws_oct_key)
    records: list[dict[str, Any]] = []

    @cfg.hooks.on_update
    def record(event: Any) -> None:
        old_user = event.old_session.data.get("user") or {}
        new_user = event.session.data.get("user") or {}
        records.append({"old_role": old_user.get("role"), "new_role": new_user.get("role")})

    def promote(data: dict[str, Any]) -> dict[str, Any]:
        data["user"]["role"] = "admin"  # in-place mutation of the live data
        return {}

    @get("/")
    async def handler(request: Request) -> dict[str, Any]:
        session = await use_jws_session(request, cfg)
        await session.update({"user": {"role": "user"}})
        await session.update(promote)
        return {"data": session.data}

    with _client(cfg, handler) as client:
        response = send(client, "GET", "/")
    assert response.status_code == 200, response.text
    assert len(records) == 2
    assert records[1]["old_role"] == "user"
    assert records[1]["new_role"] == "admin"
    assert response.json()["data"] == {"user": {"role": "admin"}}


def _update_failure_rolls_back(cfg: Any, use: Any) -> None:
    """Tests 29/30. Upstream uses a BigInt; here a value msgspec cannot encode makes the seal fail."""
    errors: list[dict[str, Any]] = []

    @cfg.hooks.on_error
    def record(event: Any) -> None:
        errors.append({"has_big": "big" in event.session.data, "error": event.error})

    @get("/")
    async def handler(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        await session.update({"user": {"role": "user"}})
        before = {"id": session.id, "token": session.token, "created_at": session.created_at}
        raised = None
        try:
            await session.update({"big": object()})
        except Exception as exc:
            raised = type(exc).__name__
        after = {"id": session.id, "token": session.token, "created_at": session.created_at}
        return {
            "role": session.data["user"]["role"],
            "hasBig": "big" in session.data,
            "raised": raised,
            "rolledBack": before == after,
        }

    with _client(cfg, handler) as client:
        response = send(client, "GET", "/")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["raised"] == "SessionError"
    assert len(errors) == 1
    assert body["role"] == "user"
    assert body["hasBig"] is False
    assert body["rolledBack"] is True
    assert errors[0]["has_big"] is False
    assert errors[0]["error"] is not None


def test_29_jws_update_failure_rolls_back_session_data(jws_oct_key: dict[str, Any]) -> None:
    cfg = JWSSessionConfig(name="h3-jws-data-rollback", key=jws_oct_key)
    _update_failure_rolls_back(cfg, use_jws_session)


def test_30_jwe_update_failure_rolls_back_session_data(jwe_oct_key: dict[str, Any]) -> None:
    cfg = JWESessionConfig(name="h3-jwe-data-rollback", key=jwe_oct_key)
    _update_failure_rolls_back(cfg, use_jwe_session)


def test_31_jws_on_clear_receives_token_and_fires_with_cookie_false(jws_oct_key: dict[str, Any]) -> None:
    cfg = JWSSessionConfig(name="h3-jws-hook-clear-nocookie", key=jws_oct_key, cookie=False)
    _clear_with_cookie_false(cfg, use_jws_session, "x-h3-jws-hook-clear-nocookie-session")


def _write_path_failure(cfg: Any, use: Any, update: Any) -> None:
    """Tests 32/33 (b): the seal/sign fails inside update(): on_error once, no on_update, nothing kept."""
    errors: list[Any] = []
    updates: list[Any] = []
    cfg.hooks.on_error(errors.append)
    cfg.hooks.on_update(updates.append)

    @get("/")
    async def handler(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        threw = False
        try:
            await session.update(update)
        except Exception:
            threw = True
        return {"id": session.id, "token": session.token, "threw": threw}

    with _client(cfg, handler) as client:
        response = send(client, "GET", "/")
    assert response.status_code == 200, response.text
    assert len(errors) == 1
    assert updates == []
    assert errors[0].error is not None
    assert errors[0].session.token is None
    assert response.json() == {"id": None, "token": None, "threw": True}
    assert set_cookies(response) == []


def test_32_jws_on_error_fires_on_write_path_sign_failure(jws_rsa_pair: KeyPair) -> None:
    # (a) Upstream's {kty: "EC"} key only fails when signing; our configs reject it at construction.
    with pytest.raises(ValueError):
        JWSSessionConfig(name="h3-jws-hook-sign-error", key={"kty": "EC"})
    # (b) A valid verify-only key pair (no private key) fails on the write path instead.
    cfg = JWSSessionConfig(name="h3-jws-hook-sign-error", key=KeyPair(public_key=jws_rsa_pair.public_key))
    _write_path_failure(cfg, use_jws_session, {"foo": "bar"})


def test_33_jwe_on_error_fires_on_write_path_seal_failure(jwe_oct_key: dict[str, Any]) -> None:
    # (a) Upstream's {kty: "EC"} key only fails when sealing; our configs reject it at construction.
    with pytest.raises(ValueError):
        JWESessionConfig(name="h3-jwe-hook-seal-error", key={"kty": "EC"})
    # (b) Every valid JWE key can seal (a private-only pair too, G6 fixed), so the seal failure is
    # provoked with a value msgspec cannot encode.
    cfg = JWESessionConfig(name="h3-jwe-hook-seal-error", key=jwe_oct_key)
    _write_path_failure(cfg, use_jwe_session, {"foo": object()})
