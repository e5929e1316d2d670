"""The extra scenarios F1-F21 of the unjwt h3 v2 spec (§6F), through real Litestar apps.

"keep" scenarios follow upstream, adjusted for our documented defaults (``SameSite=Lax`` on every
cookie; a cleared chunked cookie expires ``name.1..N``, not a spurious ``name.0``). "decide"
scenarios (F10-F17) assert the fixed behaviour (spec §7.2, G1-G17).
"""

import asyncio
import json
import math
import time
import uuid
from typing import Any

import pytest
from litestar import Request, WebSocket, get, websocket

from litestar_jwtsession import (
    CookieOptions,
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    KeyPair,
    SessionError,
    generate_jwk,
    get_jwe_session_token,
    update_jwe_session,
    update_jws_session,
    use_jwe_session,
    use_jws_session,
)
from litestar_jwtsession.errors import ConfigurationError
from tests.helpers import (
    EPOCH,
    FakeClock,
    Recorder,
    assert_cleared,
    b64url,
    b64url_decode,
    cookie_header,
    cookie_names,
    decrypt_jwe,
    describe,
    forge_jwe,
    forge_jws,
    http_date,
    jws_claims,
    make_client,
    parse_set_cookie,
    send,
    set_cookies,
    token_header,
)

HS256 = generate_jwk("HS256")
OTHER_HS256 = generate_jwk("HS256")
HS384 = generate_jwk("HS384")
A128KW = generate_jwk("A128KW")
OTHER_A128KW = generate_jwk("A128KW")
RS256 = generate_jwk("RS256")
OAEP = generate_jwk("RSA-OAEP-256")
ECDH = generate_jwk("ECDH-ES+A128KW")
PASSWORD16 = "sixteen-byte-pw!"  # 16 UTF-8 bytes: a valid A128GCM CEK as it is
T0 = 1_750_000_000


def jws(name: str, **kwargs: Any) -> JWSSessionConfig[Any]:
    return JWSSessionConfig(key=kwargs.pop("key", HS256), name=name, **kwargs)


def jwe(name: str, **kwargs: Any) -> JWESessionConfig[Any]:
    return JWESessionConfig(key=kwargs.pop("key", A128KW), name=name, **kwargs)


def forge_for(config: Any, claims: dict[str, Any], **header: Any) -> str:
    """A token ``config`` accepts (unjwt's shape), built with joserfc."""
    if isinstance(config, JWESessionConfig):
        return forge_jwe(claims, config.key, **header)
    return forge_jws(claims, config.key, **header)


def now() -> int:
    return int(time.time())


# --------------------------------------------------------------------------- F1 - F5 (cookies)


def test_f01_default_cookie_attributes() -> None:
    clock = FakeClock(T0)
    configs = [
        JWESessionConfig(key=A128KW, clock=clock),
        JWSSessionConfig(key=HS256, clock=clock),
        jwe("jwe-age", max_age="1h", clock=clock),
        jws("jws-age", max_age=60, clock=clock),
    ]
    expected = {
        "litestar-jwe": "; Path=/; HttpOnly; Secure; SameSite=Lax",
        "litestar-jws": "; Path=/; Secure; SameSite=Lax",
        "jwe-age": f"; Path=/; Expires={http_date(T0 + 3600)}; HttpOnly; Secure; SameSite=Lax",
        "jws-age": f"; Path=/; Expires={http_date(T0 + 60)}; Secure; SameSite=Lax",
    }
    with make_client(configs) as client:
        for name, attributes in expected.items():
            response = send(client, f"/s/{name}", method="POST", json={"a": 1})
            assert response.status_code == 200
            token = response.json()["token"]
            assert set_cookies(response) == [f"{name}={token}{attributes}"]
            assert "max-age" not in parse_set_cookie(set_cookies(response)[0])[2]


def test_f02_token_claims_and_headers() -> None:
    clock = FakeClock(T0)
    signed = jws("f2-jws", max_age=60, clock=clock)
    sealed = jwe("f2-jwe", max_age="1h", clock=clock)
    rsa = jws("f2-rsa", key=RS256, clock=clock)
    with make_client([signed, sealed, rsa]) as client:
        body = send(client, "/s/f2-jws", method="POST", json={"a": 1, "b": [1, 2]}).json()
        assert jws_claims(body["token"]) == {
            "a": 1,
            "b": [1, 2],
            "jti": body["id"],
            "iat": T0,
            "exp": T0 + 60,
        }
        assert token_header(body["token"]) == {
            "alg": "HS256",
            "typ": "JWT",
            "cty": "application/json",
            "kid": HS256["kid"],
        }
        assert body["created_at"] == T0 * 1000
        assert body["expires_at"] == (T0 + 60) * 1000

        body = send(client, "/s/f2-jwe", method="POST", json={"secret": "s"}).json()
        header, claims = decrypt_jwe(body["token"], A128KW, alg="A128KW", enc="A128GCM")
        assert header == {
            "alg": "A128KW",
            "enc": "A128GCM",
            "typ": "JWT",
            "cty": "application/json",
            "kid": A128KW["kid"],
        }
        assert claims == {"secret": "s", "jti": body["id"], "iat": T0, "exp": T0 + 3600}
        assert claims["exp"] - claims["iat"] == 3600

        body = send(client, "/s/f2-rsa", method="POST", json={}).json()
        assert token_header(body["token"]) == {
            "alg": "RS256",
            "typ": "JWT",
            "cty": "application/json",
            "kid": RS256.private_key["kid"],
        }
        assert jws_claims(body["token"]) == {"jti": body["id"], "iat": T0}


def test_f03_one_set_cookie_per_request() -> None:
    config = jwe("f3")

    @get("/twice")
    async def twice(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jwe_session(request, config)
        await session.update({"step": 1})
        await session.update({"step": 2})
        return describe(session)

    @get("/update-then-clear")
    async def update_then_clear(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jwe_session(request, config)
        await session.update({"step": 1})
        await session.clear()
        return describe(session)

    with make_client([config], [twice, update_then_clear]) as client:
        response = send(client, "/twice")
        token = response.json()["token"]
        assert set_cookies(response) == [f"f3={token}; Path=/; HttpOnly; Secure; SameSite=Lax"]
        assert decrypt_jwe(token, A128KW, alg="A128KW", enc="A128GCM")[1]["step"] == 2

        response = send(client, "/update-then-clear")
        assert response.json()["token"] is None
        [cleared] = set_cookies(response)
        assert_cleared(cleared, "f3", flags=("HttpOnly", "Secure", "SameSite"))


def test_f04_shrinking_and_clearing_chunked_cookies() -> None:
    config = jws("f4", cookie=CookieOptions(chunk_max_length=400))
    with make_client([config]) as client:
        big = send(client, "/s/f4", method="POST", json={"big": "x" * 1000})
        token = big.json()["token"]
        chunks = math.ceil(len(token) / 400)
        assert chunks >= 3
        assert cookie_names(big) == ["f4", *(f"f4.{i}" for i in range(1, chunks + 1))]

        small = send(client, "/s/f4?replace=1", method="POST", cookie=cookie_header(big), json={"s": 1})
        assert small.json()["data"] == {"s": 1}
        new_token = small.json()["token"]
        assert len(new_token) <= 400
        by_name = {parse_set_cookie(h)[0]: h for h in set_cookies(small)}
        assert set(by_name) == {"f4", *(f"f4.{i}" for i in range(1, chunks + 1))}
        assert by_name["f4"] == f"f4={new_token}; Path=/; Secure; SameSite=Lax"
        for i in range(1, chunks + 1):
            assert by_name[f"f4.{i}"] == f"f4.{i}=; Max-Age=0; Path=/; Expires={EPOCH}; Secure; SameSite=Lax"

        cleared = send(client, "/s/f4/clear", method="POST", cookie=cookie_header(big))
        by_name = {parse_set_cookie(h)[0]: h for h in set_cookies(cleared)}
        assert set(by_name) == {"f4", *(f"f4.{i}" for i in range(1, chunks + 1))}  # no spurious f4.0
        assert_cleared(by_name["f4"], "f4", flags=("Secure", "SameSite"))
        for i in range(1, chunks + 1):
            assert by_name[f"f4.{i}"] == f"f4.{i}=; Max-Age=0; Path=/; Expires={EPOCH}; Secure; SameSite=Lax"


def test_f05_custom_cookie_options_on_every_chunk() -> None:
    clock = FakeClock(T0)
    options = CookieOptions(chunk_max_length=100, samesite="strict", domain="example.com", path="/app")
    config = jws("f5", cookie=options, max_age=50, clock=clock)
    with make_client([config]) as client:
        response = send(client, "/s/f5", method="POST", json={"a": "b"})
        token = response.json()["token"]
        n = math.ceil(len(token) / 100)
        attrs = f"; Domain=example.com; Path=/app; Expires={http_date(T0 + 50)}; Secure; SameSite=Strict"
        expected = [f"f5=__chunked__{n}{attrs}"]
        expected += [f"f5.{i + 1}={token[i * 100 : (i + 1) * 100]}{attrs}" for i in range(n)]
        assert set_cookies(response) == expected
        # and the chunks read back
        again = send(client, "/s/f5", cookie=cookie_header(response))
        assert again.json()["id"] == response.json()["id"]
        assert again.json()["data"] == {"a": "b"}


# --------------------------------------------------------------------------- F6 - F9 (reading)


@pytest.mark.parametrize("kind", ["jws", "jwe"])
@pytest.mark.parametrize("transport", ["cookie", "header"])
def test_f06_expired_token_fires_on_expire_only(kind: str, transport: str) -> None:
    clock = FakeClock(T0)
    config = (jws if kind == "jws" else jwe)("f6", max_age=60, clock=clock)
    recorder = Recorder(config)
    with make_client([config]) as client:
        minted = send(client, "/s/f6", method="POST", json={"a": 1}).json()
        recorder.clear()
        clock.now = T0 + 120
        if transport == "cookie":
            response = send(client, "/s/f6", cookie=f"f6={minted['token']}")
        else:
            response = send(client, "/s/f6", headers={"x-f6-session": minted["token"]})
        assert response.status_code == 200
        body = response.json()
        assert body["id"] is None
        assert body["data"] == {}
        assert body["token"] == minted["token"]
        assert recorder.counts() == {"on_expire": 1}
        [call] = recorder.of("on_expire")
        assert call.code == "ERR_JWT_EXPIRED"
        session = call.event.session
        assert session.id == minted["id"]
        assert session.created_at == T0 * 1000
        assert session.expires_at == (T0 + 60) * 1000
        assert session.token == minted["token"]
        assert call.event.error.claims == {"jti": minted["id"], "iat": T0, "exp": T0 + 60}
        if transport == "cookie":  # G8: the lapsed cookie is expired
            [cleared] = set_cookies(response)
            assert_cleared(cleared, "f6")
        else:
            assert set_cookies(response) == []


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_f07_bad_tokens_fire_on_error(kind: str) -> None:
    config = (jws if kind == "jws" else jwe)("f7")
    recorder = Recorder(config)
    other = OTHER_HS256 if kind == "jws" else OTHER_A128KW
    forge = forge_jws if kind == "jws" else forge_jwe
    t = now()
    cases = {
        "wrong key": (
            forge({"jti": "1", "iat": t}, other),
            {
                "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
                "ERR_JWE_DECRYPTION_FAILED",
                "ERR_JWS_INVALID",
                "ERR_JWE_INVALID",
            },
        ),
        "missing jti": (forge_for(config, {"iat": t, "a": 1}), {"ERR_JWT_CLAIM_MISSING"}),
        "future nbf": (forge_for(config, {"jti": "1", "iat": t, "nbf": t + 3600}), {"ERR_JWT_NBF"}),
        "garbage": ("garbage", {"ERR_JWS_INVALID" if kind == "jws" else "ERR_JWE_INVALID"}),
    }
    with make_client([config]) as client:
        for case, (token, codes) in cases.items():
            recorder.clear()
            response = send(client, "/s/f7", headers={"x-f7-session": token})
            assert response.status_code == 200, case
            assert response.json()["id"] is None, case
            assert response.json()["token"] == token, case
            assert recorder.counts() == {"on_error": 1}, case
            assert recorder.of("on_error")[0].code in codes, case
            assert recorder.of("on_error")[0].token == token, case


def test_f08_jws_alg_none_and_other_hmac_size_rejected() -> None:
    config = jws("f8")
    recorder = Recorder(config)
    t = now()
    header = {"alg": "none", "typ": "JWT", "cty": "application/json", "kid": HS256["kid"]}
    none_token = f"{b64url(json.dumps(header))}.{b64url(json.dumps({'jti': '1', 'iat': t}))}."
    hs384 = forge_jws({"jti": "1", "iat": t}, {**HS384, "kid": HS256["kid"]})
    with make_client([config]) as client:
        for token, codes in (
            (none_token, {"ERR_JWS_ALG_NOT_ALLOWED", "ERR_JWS_INVALID"}),
            (hs384, {"ERR_JWS_ALG_NOT_ALLOWED"}),
        ):
            recorder.clear()
            response = send(client, "/s/f8", headers={"x-f8-session": token})
            assert response.json()["id"] is None
            assert recorder.counts() == {"on_error": 1}
            assert recorder.of("on_error")[0].code in codes


def test_f09_on_expire_refresh_on_the_read_path() -> None:
    clock = FakeClock(T0)
    config = jws("f9", max_age=60, clock=clock)

    @config.hooks.on_expire
    async def refresh(event: Any) -> None:
        await update_jws_session(event.connection, event.config, {"sub": "refreshed"})

    recorder = Recorder(config)
    with make_client([config]) as client:
        minted = send(client, "/s/f9", method="POST", json={"sub": "old"}).json()
        recorder.clear()
        clock.now = T0 + 120
        response = send(client, "/s/f9", cookie=f"f9={minted['token']}")
        body = response.json()
        assert body["data"] == {"sub": "refreshed"}  # the expired token's data is not carried over
        assert body["id"] not in (None, minted["id"])
        assert set_cookies(response) == [
            f"f9={body['token']}; Path=/; Expires={http_date(T0 + 180)}; Secure; SameSite=Lax"
        ]
        assert recorder.counts() == {"on_expire": 1, "on_update": 1}


# --------------------------------------------------------------------------- F10 - F17 (fixed)


def test_f10_on_read_fires_once_per_request() -> None:
    config = jwe("f10")
    recorder = Recorder(config)
    seen: dict[str, Any] = {}

    @get("/concurrent")
    async def concurrent(request: Request[Any, Any, Any]) -> dict[str, Any]:
        sessions = await asyncio.gather(*(use_jwe_session(request, config) for _ in range(3)))
        seen["same"] = all(s is sessions[0] for s in sessions)
        return {"sessions": [{"id": s.id, "data": s.data} for s in sessions]}

    @get("/sequential")
    async def sequential(request: Request[Any, Any, Any]) -> dict[str, Any]:
        for _ in range(3):
            session = await use_jwe_session(request, config)
        return describe(session)

    @get("/read-update-read")
    async def read_update_read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await use_jwe_session(request, config)
        await update_jwe_session(request, config, {"more": True})
        return describe(await use_jwe_session(request, config))

    with make_client([config], [concurrent, sequential, read_update_read]) as client:
        minted = send(client, "/s/f10", method="POST", json={"foo": "bar"}).json()
        cookie = f"f10={minted['token']}"

        recorder.clear()
        body = send(client, "/concurrent", cookie=cookie).json()
        assert body["sessions"] == [{"id": minted["id"], "data": {"foo": "bar"}}] * 3
        assert seen["same"] is True
        assert recorder.counts() == {"on_read": 1}

        recorder.clear()
        assert send(client, "/sequential", cookie=cookie).json()["id"] == minted["id"]
        assert recorder.counts() == {"on_read": 1}

        recorder.clear()
        body = send(client, "/read-update-read", cookie=cookie).json()
        assert body["data"] == {"foo": "bar", "more": True}
        assert recorder.counts() == {"on_read": 1, "on_update": 1}

        recorder.clear()  # no token, update, read: nothing was read
        body = send(client, "/read-update-read").json()
        assert body["data"] == {"more": True}
        assert recorder.counts() == {"on_update": 1}


@pytest.mark.parametrize("header", ["Authorization", None])
def test_f11_header_token_kept_when_response_has_set_cookie(header: str | None) -> None:
    a = jwe("f11-a")
    b = jws("f11-b", session_header=header) if header else jws("f11-b")
    recorder = Recorder(b)

    @get("/both")
    async def both(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await update_jwe_session(request, a, {"x": 1})
        return describe(await use_jws_session(request, b))

    token = forge_for(b, {"jti": "b-1", "iat": now(), "who": "b"})
    sent = {"Authorization": f"Bearer {token}"} if header else {"x-f11-b-session": token}
    with make_client([a, b], [both]) as client:
        response = send(client, "/both", headers=sent)
        assert response.json()["id"] == "b-1"
        assert response.json()["data"] == {"who": "b"}
        assert cookie_names(response) == ["f11-a"]
        assert recorder.counts() == {"on_read": 1}


def test_f12_clear_sticks_for_the_rest_of_the_request() -> None:
    config = jwe("f12")
    recorder = Recorder(config)

    @get("/clear-then-read")
    async def clear_then_read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jwe_session(request, config)
        assert session.id is not None
        await session.clear()
        again = await use_jwe_session(request, config)
        return {
            **describe(again),
            "token_fn": get_jwe_session_token(request, config),
            "same": again is session,
        }

    @get("/clear-then-update")
    async def clear_then_update(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jwe_session(request, config)
        await session.clear()
        await session.update({"b": 2})
        return describe(session)

    with make_client([config], [clear_then_read, clear_then_update]) as client:
        minted = send(client, "/s/f12", method="POST", json={"a": 1}).json()
        cookie = f"f12={minted['token']}"

        recorder.clear()
        response = send(client, "/clear-then-read", cookie=cookie)
        body = response.json()
        assert (body["id"], body["token"], body["data"], body["expires_at"]) == (None, None, {}, None)
        assert body["token_fn"] is None
        assert recorder.counts() == {"on_read": 1, "on_clear": 1}
        assert recorder.of("on_clear")[0].event.old_session.data == {"a": 1}
        [cleared] = set_cookies(response)
        assert_cleared(cleared, "f12", flags=("HttpOnly", "Secure"))

        response = send(client, "/clear-then-update", cookie=cookie)
        body = response.json()
        assert body["data"] == {"b": 2}
        claims = decrypt_jwe(body["token"], A128KW, alg="A128KW", enc="A128GCM")[1]
        assert "a" not in claims
        assert claims["b"] == 2
        assert set_cookies(response) == [f"f12={body['token']}; Path=/; HttpOnly; Secure; SameSite=Lax"]


@pytest.mark.parametrize(("kind", "typ"), [("jwe", "foo"), ("jwe", "jwt"), ("jws", "jwt"), ("jws", "foo")])
def test_f13_typ_is_checked_for_jwe_and_jws(kind: str, typ: str) -> None:
    config = (jws if kind == "jws" else jwe)("f13")
    recorder = Recorder(config)
    t = now()
    with make_client([config]) as client:
        good = send(client, "/s/f13", headers={"x-f13-session": forge_for(config, {"jti": "1", "iat": t})})
        assert good.json()["id"] == "1"
        recorder.clear()
        bad = forge_for(config, {"jti": "2", "iat": t}, typ=typ)
        assert token_header(bad)["typ"] == typ
        response = send(client, "/s/f13", headers={"x-f13-session": bad})
        assert response.json()["id"] is None
        assert recorder.counts() == {"on_error": 1}
        assert recorder.of("on_error")[0].code == "ERR_JWT_TYP_INVALID"


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_f14_max_age_enforced_on_tokens_without_exp(kind: str) -> None:
    config = (jws if kind == "jws" else jwe)("f14", max_age=10)
    recorder = Recorder(config)
    t = now()
    old = forge_for(config, {"jti": "old", "iat": t - 100})
    fresh = forge_for(config, {"jti": "fresh", "iat": t - 2})
    with make_client([config]) as client:
        response = send(client, "/s/f14", headers={"x-f14-session": old})
        assert response.json()["id"] is None
        assert recorder.counts() == {"on_expire": 1}
        [call] = recorder.of("on_expire")
        assert call.code == "ERR_JWT_EXPIRED"
        assert (call.event.session.id, call.event.session.created_at) == ("old", (t - 100) * 1000)
        assert call.event.session.token == old

        recorder.clear()
        body = send(client, "/s/f14", headers={"x-f14-session": fresh}).json()
        assert body["id"] == "fresh"
        assert body["expires_at"] == (t - 2 + 10) * 1000
        assert recorder.counts() == {"on_read": 1}


def test_f15_refresh_in_on_expire_is_kept() -> None:
    clock = FakeClock(T0)
    config = jwe("f15", max_age=60, clock=clock)

    @config.hooks.on_expire
    async def refresh(event: Any) -> None:
        await update_jwe_session(event.connection, event.config, {"renewed": True})

    recorder = Recorder(config)

    @get("/twice")
    async def twice(request: Request[Any, Any, Any]) -> dict[str, Any]:
        first = await use_jwe_session(request, config)
        clock.now += 3600  # long after the new exp: still valid for this request
        second = await use_jwe_session(request, config)
        return {**describe(second), "same_id": first.id == second.id}

    with make_client([config], [twice]) as client:
        minted = send(client, "/s/f15", method="POST", json={"a": 1}).json()
        recorder.clear()
        clock.now = T0 + 120
        response = send(client, "/twice", cookie=f"f15={minted['token']}")
        body = response.json()
        assert body["data"] == {"renewed": True}
        assert body["same_id"] is True
        assert body["id"] is not None
        [cookie] = set_cookies(response)
        assert (
            cookie
            == f"f15={body['token']}; Path=/; Expires={http_date(T0 + 180)}; HttpOnly; Secure; SameSite=Lax"
        )
        assert recorder.counts() == {"on_expire": 1, "on_update": 1}


@pytest.mark.parametrize("pair", [OAEP, ECDH], ids=["RSA-OAEP-256", "ECDH-ES+A128KW"])
def test_f16_private_only_jwe_key_pair_seals_and_reads(pair: KeyPair) -> None:
    config = jwe("f16", key=KeyPair(private_key=pair.private_key))
    recorder = Recorder(config)
    with make_client([config]) as client:
        minted = send(client, "/s/f16", method="POST", json={"secret": "data"})
        assert minted.status_code == 200
        token = minted.json()["token"]
        assert token_header(token)["alg"] == pair.private_key["alg"]
        body = send(client, "/s/f16", cookie=cookie_header(minted)).json()
        assert body["data"] == {"secret": "data"}
        assert body["id"] == minted.json()["id"]
        assert recorder.counts() == {"on_update": 1, "on_read": 1}


@pytest.mark.parametrize("keyed", ["password", "A128KW"])
def test_f17_dir_tokens_rejected_for_password_and_wrapping_keys(keyed: str) -> None:
    if keyed == "password":
        config = jwe("f17", key=PASSWORD16, pbes2_iterations=1000)
        cek: bytes = PASSWORD16.encode()
    else:
        config = jwe("f17")
        cek = b64url_decode(A128KW["k"])
    assert len(cek) == 16
    recorder = Recorder(config)
    token = forge_jwe({"jti": "1", "iat": now(), "evil": True}, cek, alg="dir", enc="A128GCM")
    with make_client([config]) as client:
        response = send(client, "/s/f17", headers={"x-f17-session": token})
        assert response.status_code == 200
        assert response.json()["id"] is None
        assert recorder.counts() == {"on_error": 1}
        assert recorder.of("on_error")[0].code == "ERR_JWE_ALG_NOT_ALLOWED"


# --------------------------------------------------------------------------- F18 - F21 (keep)


def test_f18_pbes2_count_range() -> None:
    t = now()
    claims = {"jti": "p", "iat": t, "v": 1}
    token = forge_jwe(claims, PASSWORD16, alg="PBES2-HS512+A256KW", enc="A256CBC-HS512", p2c=1000)
    too_few = forge_jwe(claims, PASSWORD16, alg="PBES2-HS512+A256KW", enc="A256CBC-HS512", p2c=999)
    default = jwe("f18-default", key=PASSWORD16)  # 600000 exactly
    widened = jwe("f18-wide", key=PASSWORD16, pbes2_iterations_range=(1000, 600000))
    recorder = Recorder(default, widened)
    with make_client([default, widened]) as client:
        body = send(client, "/s/f18-wide", headers={"x-f18-wide-session": token}).json()
        assert body["id"] == "p"
        assert body["data"] == {"v": 1}
        assert recorder.counts() == {"on_read": 1}

        recorder.clear()
        body = send(client, "/s/f18-wide", headers={"x-f18-wide-session": too_few}).json()
        assert body["id"] is None
        assert recorder.counts() == {"on_error": 1}

        recorder.clear()
        body = send(client, "/s/f18-default", headers={"x-f18-default-session": token}).json()
        assert body["id"] is None
        assert recorder.counts() == {"on_error": 1}
        assert recorder.of("on_error")[0].code in set(ErrorCode)


@pytest.mark.parametrize("max_age", [0, "7d", -5, "1.5h", "10 m", "1H"])
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_f19_invalid_max_age_raises_at_construction(kind: str, max_age: Any) -> None:
    with pytest.raises(ConfigurationError):
        (jws if kind == "jws" else jwe)("f19", max_age=max_age)


def test_f20_websocket_is_read_only_unless_cookies_are_off() -> None:
    headerless = jws("f20-nc", cookie=False)
    cookied = jws("f20-c")
    recorder = Recorder(headerless, cookied)

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        out: dict[str, Any] = {}
        nc = await use_jws_session(socket, headerless)
        out["nc_read"] = dict(nc.data)
        await nc.update({"b": 2})
        out["nc_token"], out["nc_id"], out["nc_data"] = nc.token, nc.id, dict(nc.data)
        await nc.clear()
        out["nc_cleared"] = nc.token
        c = await use_jws_session(socket, cookied)
        out["c_read"], before = dict(c.data), (c.id, c.token)
        for action in ("update", "clear"):
            try:
                await getattr(c, action)()
            except SessionError as exc:
                out[action] = str(exc.code)
        out["c_unchanged"] = (c.id, c.token) == before and c.data == out["c_read"]
        await socket.send_json(out)
        await socket.close()

    t = now()
    nc_token = forge_jws({"jti": "n", "iat": t, "a": 1}, HS256)
    c_token = forge_jws({"jti": "c", "iat": t, "c": 1}, HS256)
    with make_client([headerless, cookied], [ws]) as client:
        client.cookies.clear()
        headers = {"x-f20-nc-session": nc_token, "cookie": f"f20-c={c_token}"}
        with client.websocket_connect("/ws", headers=headers) as socket:
            out = socket.receive_json()
    assert out["nc_read"] == {"a": 1}
    assert isinstance(out["nc_token"], str)
    assert out["nc_token"] != nc_token
    assert out["nc_data"] == {"a": 1, "b": 2}
    assert out["nc_cleared"] is None
    assert out["c_read"] == {"c": 1}
    assert out["update"] == "ERR_SESSION_READ_ONLY"
    assert out["clear"] == "ERR_SESSION_READ_ONLY"
    assert out["c_unchanged"] is True
    assert recorder.counts("f20-nc") == {"on_read": 1, "on_update": 1, "on_clear": 1}
    assert recorder.counts("f20-c") == {"on_read": 1}


def test_f21_empty_generated_id_falls_back_to_uuid() -> None:
    config = jws("f21", generate_id=lambda: "")
    with make_client([config]) as client:
        body = send(client, "/s/f21", method="POST", json={}).json()
    assert uuid.UUID(body["id"])
    assert jws_claims(body["token"])["jti"] == body["id"]
