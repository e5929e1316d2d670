"""One or more tests per upstream gap G1-G17 (spec §7.2), asserting the port's fix."""

import asyncio
import math
import time
from typing import Any

import msgspec
import pytest
from litestar import Request, get

from litestar_jwtsession import (
    CookieOptions,
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    KeyPair,
    SessionError,
    generate_jwk,
    get_jws_session_token,
    update_jwe_session,
    update_jws_session,
    use_jwe_session,
    use_jws_session,
)
from litestar_jwtsession.errors import ConfigurationError
from tests.helpers import (
    FakeClock,
    Recorder,
    assert_cleared,
    b64url_decode,
    cookie_header,
    cookie_names,
    decrypt_jwe,
    describe,
    flip,
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
A128KW = generate_jwk("A128KW")
A256KW = generate_jwk("A256KW")
A256GCMKW = generate_jwk("A256GCMKW")
RS256 = generate_jwk("RS256")
OAEP = generate_jwk("RSA-OAEP-256")
T0 = 1_750_000_000


def now() -> int:
    return int(time.time())


def jws(name: str, **kwargs: Any) -> JWSSessionConfig[Any]:
    return JWSSessionConfig(key=kwargs.pop("key", HS256), name=name, **kwargs)


def jwe(name: str, **kwargs: Any) -> JWESessionConfig[Any]:
    return JWESessionConfig(key=kwargs.pop("key", A128KW), name=name, **kwargs)


def read_via_header(config: Any, token: str, recorder: Recorder) -> dict[str, Any]:
    """Read ``token`` from the session header of ``config``; return the body (recorder cleared first)."""
    recorder.clear()
    with make_client([config]) as client:
        response = send(client, f"/s/{config.name}", headers={f"x-{config.name}-session": token})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def assert_rejected(config: Any, token: str, code: str | set[str] | None = None) -> SessionError:
    """``token`` leaves the session anonymous and fires ``on_error`` once; returns the error."""
    recorder = Recorder(config)
    body = read_via_header(config, token, recorder)
    assert body["id"] is None
    assert body["data"] == {}
    assert recorder.counts() == {"on_error": 1}
    error = recorder.of("on_error")[0].event.error
    assert isinstance(error, SessionError)
    if code is not None:
        assert error.code in ({code} if isinstance(code, str) else code)
    return error


# --------------------------------------------------------------------------- G1 pinning


def test_g01_password_rejects_dir_and_foreign_p2c() -> None:
    password = "a-password-of-exactly-32-bytes!!"
    assert len(password.encode()) == 32
    config = jwe("g1-pw", key=password, pbes2_iterations=1000)
    t = now()
    own = forge_jwe({"jti": "ok", "iat": t}, password, alg="PBES2-HS256+A128KW", enc="A128GCM", p2c=1000)
    recorder = Recorder(config)
    assert read_via_header(config, own, recorder)["id"] == "ok"  # control: the configured count works
    with make_client([config]) as client:  # and what the config writes reads back
        minted = send(client, "/s/g1-pw", method="POST", json={"a": 1})
        assert token_header(minted.json()["token"])["p2c"] == 1000
        assert send(client, "/s/g1-pw", cookie=cookie_header(minted)).json()["data"] == {"a": 1}

    direct = forge_jwe({"jti": "d", "iat": t}, password.encode(), alg="dir", enc="A256GCM")
    assert_rejected(config, direct, "ERR_JWE_ALG_NOT_ALLOWED")
    for p2c in (2048, 999, 300_000):
        foreign = forge_jwe(
            {"jti": "f", "iat": t}, password, alg="PBES2-HS256+A128KW", enc="A128GCM", p2c=p2c
        )
        assert assert_rejected(config, foreign).code in set(ErrorCode) - {ErrorCode.JWT_EXPIRED}


@pytest.mark.parametrize("key", [A128KW, A256KW, A256GCMKW], ids=lambda k: k["alg"])
def test_g01_wrapping_keys_never_accept_dir(key: dict[str, Any]) -> None:
    config = jwe("g1-kw", key=key)
    cek = b64url_decode(key["k"])
    enc = {16: "A128GCM", 32: "A256GCM"}[len(cek)]
    token = forge_jwe({"jti": "d", "iat": now()}, cek, alg="dir", enc=enc)
    assert_rejected(config, token, "ERR_JWE_ALG_NOT_ALLOWED")


def test_g01_algorithms_of_another_family_rejected() -> None:
    t = now()
    claims = {"jti": "x", "iat": t}
    # an HS256 session never accepts RS256, an RS256 session never HS256, A128KW never A256KW/RSA
    assert_rejected(jws("g1-hs"), forge_jws(claims, RS256.private_key), "ERR_JWS_ALG_NOT_ALLOWED")
    assert_rejected(
        jws("g1-rs", key=RS256),
        forge_jws(claims, {**HS256, "kid": RS256.private_key["kid"]}),
        "ERR_JWS_ALG_NOT_ALLOWED",
    )
    assert_rejected(
        jwe("g1-kw"), forge_jwe(claims, {**A256KW, "kid": A128KW["kid"]}), "ERR_JWE_ALG_NOT_ALLOWED"
    )
    assert_rejected(jwe("g1-kw"), forge_jwe(claims, OAEP.public_key), "ERR_JWE_ALG_NOT_ALLOWED")


def test_g01_pinned_enc_rejects_other_ciphers() -> None:
    config = jwe("g1-enc", enc="A256GCM")
    t = now()
    good = forge_jwe({"jti": "g", "iat": t}, A128KW, enc="A256GCM")
    recorder = Recorder(config)
    assert read_via_header(config, good, recorder)["id"] == "g"
    assert_rejected(
        config, forge_jwe({"jti": "b", "iat": t}, A128KW, enc="A256CBC-HS512"), "ERR_JWE_ALG_NOT_ALLOWED"
    )


# --------------------------------------------------------------------------- G2 typ


@pytest.mark.parametrize("typ", ["foo", "jwt", "at+jwt", None])
def test_g02_jwe_typ_is_checked(typ: str | None) -> None:
    token = forge_jwe({"jti": "t", "iat": now()}, A128KW, typ=typ)
    assert token_header(token).get("typ") == typ
    assert_rejected(jwe("g2"), token, "ERR_JWT_TYP_INVALID")


def test_g02_custom_typ_written_and_required() -> None:
    config = jwe("g2-custom", typ="at+jwt")
    recorder = Recorder(config)
    with make_client([config]) as client:
        minted = send(client, "/s/g2-custom", method="POST", json={"a": 1})
        token = minted.json()["token"]
        assert token_header(token)["typ"] == "at+jwt"
        assert send(client, "/s/g2-custom", cookie=cookie_header(minted)).json()["data"] == {"a": 1}
    assert_rejected(config, forge_jwe({"jti": "t", "iat": now()}, A128KW), "ERR_JWT_TYP_INVALID")
    assert recorder.of("on_read")


# --------------------------------------------------------------------------- G3 JWS max_age


def test_g03_jws_max_age_enforced_without_exp() -> None:
    config = jws("g3", max_age=10)
    recorder = Recorder(config)
    t = now()
    for claims in ({"jti": "old", "iat": t - 100}, {"jti": "old-exp", "iat": t - 100, "exp": t + 1000}):
        body = read_via_header(config, forge_jws(claims, HS256), recorder)
        assert body["id"] is None
        assert recorder.counts() == {"on_expire": 1}
        assert recorder.of("on_expire")[0].code == "ERR_JWT_EXPIRED"
        assert recorder.of("on_expire")[0].event.session.id == claims["jti"]

    body = read_via_header(config, forge_jws({"jti": "new", "iat": t - 1}, HS256), recorder)
    assert body["id"] == "new"
    assert body["expires_at"] == (t - 1 + 10) * 1000
    assert recorder.counts() == {"on_read": 1}


# --------------------------------------------------------------------------- G4/G5 token lookup


def test_g04_header_token_never_dropped_by_other_set_cookies() -> None:
    a = jwe("g4-a", cookie=CookieOptions(chunk_max_length=200))
    b = jws("g4-b", session_header="Authorization")
    recorder = Recorder(b)

    @get("/g4")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await update_jwe_session(request, a, {"big": "y" * 600})  # a chunked Set-Cookie first
        session = await use_jws_session(request, b)
        return {**describe(session), "token_fn": get_jws_session_token(request, b)}

    token = forge_jws({"jti": "b", "iat": now(), "who": "b"}, HS256)
    with make_client([a, b], [handler]) as client:
        response = send(client, "/g4", headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert body["id"] == "b"
    assert body["data"] == {"who": "b"}
    assert body["token"] == body["token_fn"] == token
    assert cookie_names(response)[0] == "g4-a"
    assert "g4-b" not in cookie_names(response)
    assert recorder.counts() == {"on_read": 1}


def test_g05_chunked_cookie_written_in_this_request_reads_as_the_token() -> None:
    config = jws("g5", cookie=CookieOptions(chunk_max_length=100))
    recorder = Recorder(config)

    @get("/g5")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        await update_jws_session(request, config, {"v": "z" * 300})
        session = await use_jws_session(request, config)
        return {**describe(session), "token_fn": get_jws_session_token(request, config)}

    with make_client([config], [handler]) as client:
        response = send(client, "/g5")
        body = response.json()
        assert not body["token"].startswith("__chunked__")
        assert body["token_fn"] == body["token"]
        assert jws_claims(body["token"])["jti"] == body["id"]
        assert (
            parse_set_cookie(set_cookies(response)[0])[1]
            == f"__chunked__{math.ceil(len(body['token']) / 100)}"
        )
        assert recorder.counts() == {"on_update": 1}
        # the chunks the browser sends back reassemble (from the request only)
        again = send(client, "/s/g5", cookie=cookie_header(response)).json()
        assert again["token"] == body["token"]
        assert again["data"] == {"v": "z" * 300}


def test_g04_session_names_with_regex_characters() -> None:
    config = jws("g4.a+b*")
    recorder = Recorder(config)
    token = forge_jws({"jti": "n", "iat": now()}, HS256)
    with make_client([config]) as client:
        assert send(client, "/s/g4.a+b*", cookie=f"g4.a+b*={token}").json()["id"] == "n"
        assert send(client, "/s/g4.a+b*", cookie=f"g4xaab={token}").json()["id"] is None
        assert send(client, "/s/g4.a+b*", headers={"x-g4.a+b*-session": token}).json()["id"] == "n"
    assert recorder.counts() == {"on_read": 2}


# --------------------------------------------------------------------------- G6 private-only pairs


def test_g06_private_only_jwe_pair_seals_and_full_pair_reads() -> None:
    sealer = jwe("g6", key=KeyPair(private_key=OAEP.private_key))
    reader = jwe("g6", key=KeyPair(private_key=OAEP.private_key, public_key=OAEP.public_key))
    with make_client([sealer]) as client:
        minted = send(client, "/s/g6", method="POST", json={"k": "v"})
        assert minted.status_code == 200
        token = minted.json()["token"]
    header, claims = decrypt_jwe(token, OAEP.private_key, alg="RSA-OAEP-256", enc="A128GCM")
    assert header["kid"] == OAEP.private_key["kid"]
    assert claims["k"] == "v"
    with make_client([reader]) as client:
        assert send(client, "/s/g6", cookie=f"g6={token}").json()["data"] == {"k": "v"}


# --------------------------------------------------------------------------- G7 clear sticks


def test_g07_clear_sticks_and_resets_everything() -> None:
    config = jws("g7")
    recorder = Recorder(config)

    @get("/g7")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, config)
        await session.clear()
        await session.clear()  # a second clear has nothing left to clear
        after = await use_jws_session(request, config)
        return {**describe(after), "token_fn": get_jws_session_token(request, config)}

    token = forge_jws({"jti": "c", "iat": now(), "a": 1}, HS256)
    with make_client([config], [handler]) as client:
        response = send(client, "/g7", cookie=f"g7={token}")
    body = response.json()
    assert (body["id"], body["token"], body["data"], body["expires_at"], body["token_fn"]) == (
        None,
        None,
        {},
        None,
        None,
    )
    assert recorder.counts() == {"on_read": 1, "on_clear": 2}
    first, second = recorder.of("on_clear")
    assert first.event.old_session.token == token
    assert first.event.old_session.data == {"a": 1}
    assert second.event.old_session is None
    [cleared] = set_cookies(response)
    assert_cleared(cleared, "g7")


# --------------------------------------------------------------------------- G8 expired cookies


def test_g08_expired_chunked_cookie_is_expired_on_the_response() -> None:
    clock = FakeClock(T0)
    config = jwe("g8", max_age=60, clock=clock, cookie=CookieOptions(chunk_max_length=150))
    recorder = Recorder(config)
    with make_client([config]) as client:
        minted = send(client, "/s/g8", method="POST", json={"pad": "p" * 400})
        chunks = math.ceil(len(minted.json()["token"]) / 150)
        assert chunks >= 3
        clock.now = T0 + 61
        response = send(client, "/s/g8", cookie=cookie_header(minted))
    assert response.json()["id"] is None
    assert recorder.counts() == {"on_update": 1, "on_expire": 1}
    by_name = {parse_set_cookie(h)[0]: h for h in set_cookies(response)}
    assert set(by_name) == {"g8", *(f"g8.{i}" for i in range(1, chunks + 1))}
    for name, header in by_name.items():
        assert_cleared(header, name, flags=("HttpOnly", "Secure"))
        assert parse_set_cookie(header)[2].get("max-age") == "0" or name == "g8"


def test_g08_expired_header_token_sets_no_cookie_and_refresh_wins() -> None:
    clock = FakeClock(T0)
    plain = jws("g8-h", max_age=60, clock=clock)
    refreshed = jws("g8-r", max_age=60, clock=clock, cookie=CookieOptions(chunk_max_length=150))

    @refreshed.hooks.on_expire
    def reissue(event: Any) -> Any:
        return update_jws_session(event.connection, event.config, {"fresh": 1})  # an awaitable

    with make_client([plain, refreshed]) as client:
        token = send(client, "/s/g8-h", method="POST", json={}).json()["token"]
        big = send(client, "/s/g8-r", method="POST", json={"pad": "q" * 400})
        old_chunks = math.ceil(len(big.json()["token"]) / 150)
        clock.now = T0 + 61
        response = send(client, "/s/g8-h", headers={"x-g8-h-session": token})
        assert response.json()["id"] is None
        assert set_cookies(response) == []

        response = send(client, "/s/g8-r", cookie=cookie_header(big))
    body = response.json()
    assert body["data"] == {"fresh": 1}
    new_chunks = math.ceil(len(body["token"]) / 150)
    by_name = {parse_set_cookie(h)[0]: h for h in set_cookies(response)}
    assert set(by_name) == {"g8-r", *(f"g8-r.{i}" for i in range(1, max(old_chunks, new_chunks) + 1))}
    assert parse_set_cookie(by_name["g8-r"])[1] == f"__chunked__{new_chunks}"
    assert (
        "".join(parse_set_cookie(by_name[f"g8-r.{i}"])[1] for i in range(1, new_chunks + 1)) == body["token"]
    )
    for i in range(new_chunks + 1, old_chunks + 1):
        assert_cleared(by_name[f"g8-r.{i}"], f"g8-r.{i}")


# --------------------------------------------------------------------------- G9 no in-context expiry


def test_g09_session_valid_at_read_stays_valid_for_the_request() -> None:
    clock = FakeClock(T0)
    config = jws("g9", max_age=60, clock=clock)
    recorder = Recorder(config)

    @get("/g9")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        first = await use_jws_session(request, config)
        clock.now += 3600
        second = await use_jws_session(request, config)
        return {**describe(second), "same": first is second}

    with make_client([config], [handler]) as client:
        minted = send(client, "/s/g9", method="POST", json={"a": 1}).json()
        recorder.clear()
        clock.now = T0 + 30
        response = send(client, "/g9", cookie=f"g9={minted['token']}")
        body = response.json()
        assert (body["id"], body["data"], body["same"]) == (minted["id"], {"a": 1}, True)
        assert set_cookies(response) == []
        assert recorder.counts() == {"on_read": 1}

        recorder.clear()  # an empty session never "expires" either
        clock.now = T0
        body = send(client, "/g9").json()
        assert body["id"] is None
        assert recorder.counts() == {}


# --------------------------------------------------------------------------- G10 password dir


@pytest.mark.parametrize(
    ("password", "enc"),
    [
        ("sixteen-byte-pw!", "A128GCM"),
        ("twenty-four-bytes-pw!!!!", "A192GCM"),
        ("a-password-of-exactly-32-bytes!!", "A256GCM"),
        ("a-password-of-exactly-32-bytes!!", "A128CBC-HS256"),
    ],
)
def test_g10_password_never_accepts_dir(password: str, enc: str) -> None:
    config = jwe("g10", key=password, pbes2_iterations=1000)
    token = forge_jwe({"jti": "d", "iat": now()}, password.encode(), alg="dir", enc=enc)
    assert_rejected(config, token, "ERR_JWE_ALG_NOT_ALLOWED")


def test_g10_pinning_dir_with_a_password_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        jwe("g10", key="sixteen-byte-pw!", alg="dir", enc="A128GCM", pbes2_iterations=1000)


# --------------------------------------------------------------------------- G11 error codes


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad-signature", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
        ("malformed", "ERR_JWS_INVALID"),
        ("missing-iat", "ERR_JWT_CLAIM_MISSING"),
        ("future-nbf", "ERR_JWT_NBF"),
        ("wrong-issuer", "ERR_JWT_CLAIM_INVALID"),
        ("typ", "ERR_JWT_TYP_INVALID"),
        ("key-lookup-raises", "ERR_KEY_LOOKUP_FAILED"),
    ],
)
def test_g11_jws_errors_carry_stable_codes(case: str, code: str) -> None:
    config = jws("g11", issuer="https://issuer.example")
    if case == "key-lookup-raises":

        @config.hooks.on_key_lookup
        def lookup(event: Any) -> Any:
            raise LookupError(f"unknown kid {event.header.get('kid')}")

    t = now()
    good = {"jti": "1", "iat": t, "iss": "https://issuer.example"}
    token = {
        "bad-signature": lambda: flip(forge_jws(good, HS256), 2),
        "malformed": lambda: "not.a-jws",
        "missing-iat": lambda: forge_jws({"jti": "1", "iss": "https://issuer.example"}, HS256),
        "future-nbf": lambda: forge_jws({**good, "nbf": t + 600}, HS256),
        "wrong-issuer": lambda: forge_jws({**good, "iss": "https://evil.example"}, HS256),
        "typ": lambda: forge_jws(good, HS256, typ="JOSE"),
        "key-lookup-raises": lambda: forge_jws(good, HS256),
    }[case]()
    recorder = Recorder(config)
    body = read_via_header(config, token, recorder)
    assert body["id"] is None
    assert recorder.counts() == {"on_error": 1}
    error = recorder.of("on_error")[0].event.error
    assert isinstance(error, SessionError)
    assert error.code == code
    assert isinstance(error.code, str)
    assert ErrorCode(code) is error.code


def test_g11_expired_jws_code() -> None:
    config = jws("g11-exp")
    recorder = Recorder(config)
    read_via_header(config, forge_jws({"jti": "1", "iat": now() - 100, "exp": now() - 50}, HS256), recorder)
    assert recorder.counts() == {"on_expire": 1}
    assert recorder.of("on_expire")[0].event.error.code == "ERR_JWT_EXPIRED"


# --------------------------------------------------------------------------- G12 payload shape


@pytest.mark.parametrize("payload", [b'"hello"', b"[1,2]", b"42", b"null", b"hello", b"", b'{"jti":"1",'])
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_g12_non_object_payloads_rejected(kind: str, payload: bytes) -> None:
    if kind == "jws":
        config: Any = jws("g12")
        token = forge_jws(payload, HS256)
    else:
        config = jwe("g12")
        token = forge_jwe(payload, A128KW)
    assert_rejected(config, token)


class Claims(msgspec.Struct):
    sub: str
    jti: str
    iat: int


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_g12_payload_not_matching_the_claims_struct_rejected(kind: str) -> None:
    config: Any = (jws if kind == "jws" else jwe)("g12-struct", claims=Claims)
    forge = forge_jws if kind == "jws" else forge_jwe
    key = HS256 if kind == "jws" else A128KW
    t = now()
    recorder = Recorder(config)
    body = read_via_header(config, forge({"jti": "ok", "iat": t, "sub": "alice"}, key), recorder)
    assert body["data"] == {"sub": "alice"}
    assert recorder.counts() == {"on_read": 1}
    assert isinstance(recorder.of("on_read")[0].event.session.claims, Claims)
    assert_rejected(config, forge({"jti": "no-sub", "iat": t}, key), "ERR_JWT_CLAIMS_CONVERSION")
    assert_rejected(config, forge({"jti": "bad-sub", "iat": t, "sub": 5}, key), "ERR_JWT_CLAIMS_CONVERSION")


# --------------------------------------------------------------------------- G13 pinning at config


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (HS256, "HS512"),
        (HS256, "HS384"),
        ({k: v for k, v in HS256.items() if k != "alg"}, "HS512"),  # 32 bytes are too short
        (HS256, "RS256"),
        (HS256, "none"),
    ],
)
def test_g13_jws_pin_inconsistent_with_key_raises(key: dict[str, Any], alg: str) -> None:
    with pytest.raises(ConfigurationError):
        JWSSessionConfig(key=key, alg=alg, name="g13")


def test_g13_jwe_pin_inconsistent_with_key_raises() -> None:
    with pytest.raises(ConfigurationError):
        JWESessionConfig(key=A128KW, alg="A256KW", name="g13")
    with pytest.raises(ConfigurationError):
        JWESessionConfig(key=A128KW, alg="dir", name="g13")


def test_g13_consistent_pin_works_and_writes_key_kid() -> None:
    config = JWSSessionConfig(key=HS256, alg="HS256", name="g13")
    with make_client([config]) as client:
        token = send(client, "/s/g13", method="POST", json={}).json()["token"]
    assert token_header(token)["alg"] == "HS256"
    assert token_header(token)["kid"] == HS256["kid"]


# --------------------------------------------------------------------------- G14 rollback


def test_g14_throwing_updater_rolls_back_in_place() -> None:
    config = jws("g14")
    recorder = Recorder(config)
    seen: dict[str, Any] = {}

    class Boom(Exception):
        pass

    def updater(data: dict[str, Any]) -> dict[str, Any]:
        data["a"] = 99
        data["b"] = 2
        del data["keep"]
        raise Boom

    @get("/g14")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, config)
        ref, before = session.data, (session.id, session.token, session.created_at, session.expires_at)
        try:
            await session.update(updater)
        except Boom:
            seen["raised"] = True
        seen["same_object"] = session.data is ref
        seen["ref"] = dict(ref)
        seen["state_kept"] = (session.id, session.token, session.created_at, session.expires_at) == before
        return describe(session)

    token = forge_jws({"jti": "r", "iat": now(), "a": 1, "keep": True}, HS256)
    with make_client([config], [handler]) as client:
        response = send(client, "/g14", cookie=f"g14={token}")
    assert seen == {"raised": True, "same_object": True, "ref": {"a": 1, "keep": True}, "state_kept": True}
    assert response.json()["data"] == {"a": 1, "keep": True}
    assert set_cookies(response) == []
    assert "on_update" not in recorder.counts()


@pytest.mark.parametrize("replace", [False, True])
def test_g14_seal_failure_rolls_back_in_place(replace: bool) -> None:
    config = jwe("g14-seal")
    recorder = Recorder(config)
    seen: dict[str, Any] = {}

    @get("/g14-seal")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jwe_session(request, config)
        ref, token = session.data, session.token
        try:
            await session.update({"bad": object()}, replace=replace)
        except Exception as exc:
            seen["raised"] = type(exc).__name__
        seen["same_object"] = session.data is ref
        seen["token_kept"] = session.token == token
        return describe(session)

    token = forge_jwe({"jti": "r", "iat": now(), "a": 1}, A128KW)
    with make_client([config], [handler]) as client:
        response = send(client, "/g14-seal", cookie=f"g14-seal={token}")
    assert "raised" in seen
    assert seen["same_object"] is True
    assert seen["token_kept"] is True
    assert response.json()["data"] == {"a": 1}
    assert response.json()["id"] == "r"
    assert set_cookies(response) == []
    assert recorder.counts() == {"on_read": 1, "on_error": 1}
    assert "bad" not in recorder.of("on_error")[0].data


def test_update_never_writes_a_token_its_own_reader_rejects() -> None:
    config = jws("g14-size", max_token_size=2000)
    recorder = Recorder(config)
    seen: dict[str, Any] = {}

    @get("/g14-size")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use_jws_session(request, config)
        try:
            await session.update({"x": "y" * 3000})
        except SessionError as exc:
            seen["code"] = exc.code
        return describe(session)

    with make_client([config], [handler]) as client:
        response = send(client, "/g14-size")
    assert seen == {"code": "ERR_TOKEN_TOO_LARGE"}
    assert (response.json()["id"], response.json()["data"]) == (None, {})
    assert set_cookies(response) == []
    assert recorder.counts() == {"on_error": 1}


# --------------------------------------------------------------------------- G15 documented precedence


def test_g15_header_before_cookie_and_bearer_rules() -> None:
    config = jws("g15", session_header="Authorization")
    recorder = Recorder(config)
    t = now()
    from_header = forge_jws({"jti": "h", "iat": t}, HS256)
    from_cookie = forge_jws({"jti": "c", "iat": t}, HS256)
    cookie = f"g15={from_cookie}"
    cases: list[tuple[dict[str, str], str | None, str | None]] = [
        ({"Authorization": f"Bearer {from_header}"}, cookie, "h"),
        ({"Authorization": from_header}, cookie, "h"),  # a raw token needs no prefix
        ({"Authorization": ""}, cookie, "c"),  # empty: falls through to the cookie
        ({"Authorization": "Bearer    "}, cookie, "c"),
        ({"Authorization": f"Bearer   {from_header}  "}, None, "h"),
        ({"Authorization": f"bearer {from_header}"}, cookie, None),  # not stripped: an error
    ]
    with make_client([config]) as client:
        for headers, cookie_value, expected in cases:
            recorder.clear()
            body = send(client, "/s/g15", headers=headers, cookie=cookie_value).json()
            assert body["id"] == expected, headers
            assert recorder.counts() == ({"on_read": 1} if expected else {"on_error": 1}), headers


# --------------------------------------------------------------------------- G16 cookie expiry


def test_g16_cookie_options_cannot_override_expiry() -> None:
    with pytest.raises(TypeError):
        CookieOptions(max_age=50)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        CookieOptions(expires=0)  # type: ignore[call-arg]
    clock = FakeClock(T0)
    config = jwe("g16", max_age="90s", clock=clock, cookie=CookieOptions(path="/", samesite="strict"))
    with make_client([config]) as client:
        for at in (T0, T0 + 1000):
            clock.now = at
            response = send(client, "/s/g16", method="POST", json={})
            token = response.json()["token"]
            exp = decrypt_jwe(token, A128KW, alg="A128KW", enc="A128GCM")[1]["exp"]
            assert exp == at + 90
            [header] = set_cookies(response)
            _, _, attrs = parse_set_cookie(header)
            assert attrs["expires"] == http_date(exp)
            assert "max-age" not in attrs


# --------------------------------------------------------------------------- G17 hook failures


def test_g17_raising_hook_does_not_poison_later_reads() -> None:
    config = jws("g17")
    calls: list[str] = []

    class Revoked(Exception):
        pass

    @config.hooks.on_read
    async def revoke(event: Any) -> None:
        calls.append("read")
        await asyncio.sleep(0.01)  # let the concurrent callers queue up behind this read
        raise Revoked(event.session.id)

    seen: dict[str, Any] = {}

    @get("/g17")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        results = await asyncio.gather(
            *(use_jws_session(request, config) for _ in range(3)), return_exceptions=True
        )
        seen["all_raised"] = all(isinstance(r, Revoked) for r in results)
        seen["same_exception"] = all(r is results[0] for r in results)
        session = await use_jws_session(request, config)  # later: anonymous, no exception
        seen["token_fn"] = get_jws_session_token(request, config)
        return describe(session)

    token = forge_jws({"jti": "v", "iat": now(), "a": 1}, HS256)
    with make_client([config], [handler]) as client:
        body = send(client, "/g17", cookie=f"g17={token}").json()
    assert seen == {"all_raised": True, "same_exception": True, "token_fn": None}
    assert (body["id"], body["data"], body["token"]) == (None, {}, None)
    assert calls == ["read"]


def test_g17_sync_and_async_hooks_both_run_in_order() -> None:
    config = jwe("g17-mixed")
    order: list[str] = []

    @config.hooks.on_update
    def sync_hook(event: Any) -> None:
        order.append(f"sync:{event.session.data['n']}")

    @config.hooks.on_update
    async def async_hook(event: Any) -> None:
        await asyncio.sleep(0)
        order.append(f"async:{event.session.data['n']}")

    @config.hooks.on_read
    def sync_read(event: Any) -> None:
        order.append("read-sync")

    @config.hooks.on_read
    async def async_read(event: Any) -> None:
        order.append("read-async")

    with make_client([config]) as client:
        minted = send(client, "/s/g17-mixed", method="POST", json={"n": 1})
        send(client, "/s/g17-mixed", cookie=cookie_header(minted))
    assert order == ["sync:1", "async:1", "read-sync", "read-async"]


def test_g17_raising_on_error_hook_leaves_session_anonymous() -> None:
    config = jws("g17-err")

    @config.hooks.on_error
    def explode(event: Any) -> None:
        raise RuntimeError("boom")

    seen: dict[str, Any] = {}

    @get("/g17-err")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        try:
            await use_jws_session(request, config)
        except RuntimeError:
            seen["first"] = "raised"
        session = await use_jws_session(request, config)
        await session.update({"after": True})  # still usable for a fresh login
        return describe(session)

    with make_client([config], [handler]) as client:
        response = send(client, "/g17-err", headers={"x-g17-err-session": "garbage"})
    assert seen == {"first": "raised"}
    assert response.json()["data"] == {"after": True}
    assert cookie_names(response) == ["g17-err"]
