"""Malformed, tampered and foreign tokens: always an anonymous session, one hook call, never a 500.

Every case runs for a JWS and a JWE session, and through the cookie and the session header where
the case makes sense for that transport.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import TestClient

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, generate_jwk
from tests.helpers import (
    Recorder,
    b64url,
    flip,
    forge_jwe,
    forge_jws,
    make_client,
    send,
)

HS256 = generate_jwk("HS256")
OTHER_HS256 = generate_jwk("HS256")
A128KW = generate_jwk("A128KW")
OTHER_A128KW = generate_jwk("A128KW")
MAX_TOKEN = 4096

CONFIGS: dict[str, Any] = {
    "jws": JWSSessionConfig(key=HS256, name="bad-jws", max_token_size=MAX_TOKEN),
    "jwe": JWESessionConfig(key=A128KW, name="bad-jwe", max_token_size=MAX_TOKEN),
}
RECORDER = Recorder(*CONFIGS.values())


def claims(**extra: Any) -> dict[str, Any]:
    return {"jti": "x", "iat": int(time.time()), **extra}


def valid(kind: str, **extra: Any) -> str:
    if kind == "jws":
        return forge_jws(claims(**extra), HS256)
    return forge_jwe(claims(**extra), A128KW)


def foreign_key(kind: str) -> str:
    if kind == "jws":
        return forge_jws(claims(), {**OTHER_HS256, "kid": HS256["kid"]})
    return forge_jwe(claims(), {**OTHER_A128KW, "kid": A128KW["kid"]})


def other_kind(kind: str) -> str:
    return valid("jwe" if kind == "jws" else "jws")


def swapped_header(kind: str) -> str:
    other = OTHER_HS256 if kind == "jws" else OTHER_A128KW
    donor = (forge_jws if kind == "jws" else forge_jwe)(claims(), other).split(".")
    target = valid(kind, other="payload").split(".")
    return ".".join([donor[0], *target[1:]])


def alg_none(kind: str) -> str:
    body = b64url(json.dumps(claims()))
    if kind == "jws":
        return f"{b64url(json.dumps({'alg': 'none', 'typ': 'JWT'}))}.{body}."
    header = b64url(json.dumps({"alg": "none", "enc": "A128GCM", "typ": "JWT"}))
    return f"{header}..{b64url(b'0' * 12)}.{body}.{b64url(b'0' * 16)}"


def huge(kind: str) -> str:
    token = valid(kind, pad="p" * MAX_TOKEN)
    assert len(token) > MAX_TOKEN
    return token


def expired(kind: str) -> str:
    now = int(time.time())
    return valid(kind, iat=now - 100, exp=now - 50)


@dataclass(frozen=True)
class Case:
    token: Callable[[str], str | bytes]
    hook: str | None = "on_error"  # the one hook expected, or None for "no token at all"
    transports: tuple[str, ...] = ("cookie", "header")


CASES: dict[str, Case] = {
    "empty": Case(lambda k: "", hook=None),
    "garbage": Case(lambda k: "garbage"),
    "one-segment": Case(lambda k: "eyJhbGciOiJIUzI1NiJ9"),
    "two-segments": Case(lambda k: "eyJhbGciOiJIUzI1NiJ9.e30"),
    "three-garbage-segments": Case(lambda k: "a.b.c"),
    "four-segments": Case(lambda k: "a.b.c.d"),
    "five-garbage-segments": Case(lambda k: "a.b.c.d.e"),
    "six-segments": Case(lambda k: "a.b.c.d.e.f"),
    "extra-segment": Case(lambda k: valid(k) + ".x"),
    "missing-last-segment": Case(lambda k: valid(k).rsplit(".", 1)[0]),
    "only-dots": Case(lambda k: "...."),
    "bad-base64-header": Case(lambda k: "!!!." + ".".join(valid(k).split(".")[1:])),
    "flipped-signature-or-tag": Case(lambda k: flip(valid(k), 2 if k == "jws" else 4)),
    "flipped-payload-or-ciphertext": Case(lambda k: flip(valid(k), 1 if k == "jws" else 3)),
    "flipped-header": Case(lambda k: flip(valid(k), 0, position=5)),
    "swapped-header": Case(swapped_header),
    "another-key": Case(foreign_key),
    "other-kind": Case(other_kind),
    "alg-none": Case(alg_none),
    "huge": Case(huge),
    "huge-dots": Case(lambda k: "." * (MAX_TOKEN + 10)),
    "non-ascii": Case(lambda k: "t\u00e9st\u00e9".encode()),
    "non-utf8": Case(lambda k: b"\xff\xfe\xfd.\x80\x81.\xc0"),
    "percent-encoded-garbage": Case(lambda k: "%E2%28%A1.%ZZ"),
    "expired": Case(expired, hook="on_expire"),
    "lowercase-bearer": Case(lambda k: f"bearer {valid(k)}", transports=("header",)),
    "bearer-without-space": Case(lambda k: f"Bearer{valid(k)}", transports=("header",)),
}


def _request(client: TestClient[Any], kind: str, transport: str, token: str | bytes) -> Any:
    name = CONFIGS[kind].name
    if transport == "header":
        return send(client, f"/s/{name}", headers={f"x-{name}-session": token})
    raw = token if isinstance(token, bytes) else token.encode()
    return send(client, f"/s/{name}", cookie=name.encode() + b"=" + raw)


@pytest.fixture(scope="module")
def client() -> Any:
    with make_client(list(CONFIGS.values())) as test_client:
        yield test_client


def _assert_anonymous(response: Any, hook: str | None) -> None:
    assert response.status_code == 200
    body = response.json()
    assert body["id"] is None
    assert body["data"] == {}
    assert RECORDER.counts() == ({hook: 1} if hook else {})


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_valid_token_is_accepted(client: TestClient[Any], kind: str) -> None:
    for transport in ("cookie", "header"):
        RECORDER.clear()
        response = _request(client, kind, transport, valid(kind, a=1))
        assert response.json()["data"] == {"a": 1}
        assert RECORDER.counts() == {"on_read": 1}


@pytest.mark.parametrize(
    ("case", "transport"),
    [(name, transport) for name, case in CASES.items() for transport in case.transports],
)
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_bad_token(client: TestClient[Any], kind: str, case: str, transport: str) -> None:
    spec = CASES[case]
    token = spec.token(kind)
    RECORDER.clear()
    response = _request(client, kind, transport, token)
    _assert_anonymous(response, spec.hook)
    if spec.hook is not None:
        [call] = RECORDER.of(spec.hook)
        assert call.event.error is not None
        assert isinstance(call.event.error.code, str)
        if case == "huge":
            assert call.code == "ERR_TOKEN_TOO_LARGE"


# --------------------------------------------------------------------------- cookie-only cases


def _chunked(kind: str, parts: int = 2) -> tuple[str, list[str]]:
    token = valid(kind, v="chunk me")
    size = -(-len(token) // parts)
    return token, [token[i : i + size] for i in range(0, len(token), size)]


@pytest.mark.parametrize(
    "marker",
    [
        "__chunked__",
        "__chunked__x",
        "__chunked__0",
        "__chunked__-1",
        "__chunked__101",
        "__chunked__99999999999999999999",
        "__chunked__²",
    ],
)
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_bad_chunk_count_means_no_token(client: TestClient[Any], kind: str, marker: str) -> None:
    name = CONFIGS[kind].name
    _, chunks = _chunked(kind)
    cookie = f"{name}={marker}; " + "; ".join(f"{name}.{i}={c}" for i, c in enumerate(chunks, 1))
    RECORDER.clear()
    _assert_anonymous(send(client, f"/s/{name}", cookie=cookie), None)


@pytest.mark.parametrize("missing", [1, 2])
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_missing_chunk_means_no_token(client: TestClient[Any], kind: str, missing: int) -> None:
    name = CONFIGS[kind].name
    _, chunks = _chunked(kind)
    pairs = [f"{name}.{i}={c}" for i, c in enumerate(chunks, 1) if i != missing]
    RECORDER.clear()
    _assert_anonymous(send(client, f"/s/{name}", cookie=f"{name}=__chunked__2; " + "; ".join(pairs)), None)


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_tampered_chunk(client: TestClient[Any], kind: str) -> None:
    name = CONFIGS[kind].name
    _, chunks = _chunked(kind)
    RECORDER.clear()  # control: the intact chunks read back
    cookie = f"{name}=__chunked__2; {name}.1={chunks[0]}; {name}.2={chunks[1]}"
    assert send(client, f"/s/{name}", cookie=cookie).json()["data"] == {"v": "chunk me"}
    tampered = chunks[1][:-3] + ("AAA" if not chunks[1].endswith("AAA") else "BBB")
    RECORDER.clear()
    cookie = f"{name}=__chunked__2; {name}.1={chunks[0]}; {name}.2={tampered}"
    _assert_anonymous(send(client, f"/s/{name}", cookie=cookie), "on_error")


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_duplicated_cookie_first_wins(client: TestClient[Any], kind: str) -> None:
    name = CONFIGS[kind].name
    good = valid(kind, who="first")
    RECORDER.clear()
    _assert_anonymous(send(client, f"/s/{name}", cookie=f"{name}=garbage; {name}={good}"), "on_error")
    RECORDER.clear()
    response = send(client, f"/s/{name}", cookie=f"{name}={good}; {name}=garbage")
    assert response.json()["data"] == {"who": "first"}
    assert RECORDER.counts() == {"on_read": 1}


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_bad_header_falls_back_to_nothing_not_to_500(client: TestClient[Any], kind: str) -> None:
    # a broken header token is what the session reads (header before cookie), even with a cookie
    name = CONFIGS[kind].name
    RECORDER.clear()
    response = send(
        client, f"/s/{name}", headers={f"x-{name}-session": "garbage"}, cookie=f"{name}={valid(kind)}"
    )
    _assert_anonymous(response, "on_error")
