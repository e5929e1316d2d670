"""Denial-of-service limits: work an attacker can force before a token is refused.

- a forged PBES2 count is refused before any key derivation;
- a JWE asking for ``zip`` decompression is refused, even when genuinely encrypted;
- tokens longer than ``max_token_size`` are refused before any base64 or JSON work, whether they
  come in the session header, a plain cookie or reassembled chunks;
- ``Cookie`` headers larger than ``MAX_COOKIE_HEADER_SIZE`` are ignored, and only small ones are
  memoised; at most ``MAX_CHUNKS`` chunks are read.
"""

import json
import time
from typing import Any

import pytest
from joserfc import jwe
from litestar.testing import TestClient

import litestar_jwtsession.jose.headers as headers_module
from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, generate_jwk
from litestar_jwtsession.jose.pbes2 import KEK_CACHE
from litestar_jwtsession.jose.registries import _PBES2Algorithm
from litestar_jwtsession.session import cookies as cookies_module
from litestar_jwtsession.session.cookies import MAX_CHUNKS, MAX_COOKIE_HEADER_SIZE, parse_cookie_value
from tests.helpers import Recorder, b64url, forge_jwe, forge_jws, joserfc_key, make_client, send, token_header

PASSWORD = "correct horse battery staple"
HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
MAX_TOKEN = 4096
CONFIGS: dict[str, Any] = {
    "pbes2": JWESessionConfig(key=PASSWORD, name="d-pw", pbes2_iterations=600_000),
    "jws": JWSSessionConfig(key=HS256, name="d-jws", max_token_size=MAX_TOKEN),
    "jwe": JWESessionConfig(key=A256KW, name="d-jwe", max_token_size=MAX_TOKEN),
}
RECORDER = Recorder(*CONFIGS.values())


@pytest.fixture(scope="module")
def client() -> Any:
    with make_client(list(CONFIGS.values())) as test_client:
        yield test_client


def claims() -> dict[str, Any]:
    return {"jti": "j", "iat": int(time.time())}


def _anonymous(response: Any) -> None:
    assert response.status_code == 200
    assert response.json()["id"] is None


@pytest.mark.parametrize("p2c", [1_000, 599_999, 600_001, 10_000_000, 2**31])
def test_forged_pbes2_count_is_refused_before_key_derivation(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch, p2c: int
) -> None:
    derivations: list[int] = []
    original = _PBES2Algorithm.compute_derived_key

    def counting(self: Any, key: bytes, p2s: bytes, count: int) -> bytes:
        derivations.append(count)
        return original(self, key, p2s, count)

    monkeypatch.setattr(_PBES2Algorithm, "compute_derived_key", counting)
    # a genuine token at another count, with its header re-encoded with the hostile count
    genuine = forge_jwe(claims(), PASSWORD, alg="PBES2-HS256+A128KW", enc="A128GCM", p2c=1000)
    header = {**token_header(genuine), "p2c": p2c}
    token = ".".join([b64url(json.dumps(header)), *genuine.split(".")[1:]])
    RECORDER.clear()
    _anonymous(send(client, "/s/d-pw", cookie=f"d-pw={token}"))
    assert derivations == []  # refused before any PBKDF2 run (not timed: these machines are shared)
    assert RECORDER.counts() == {"on_error": 1}
    assert RECORDER.of("on_error")[0].code in ("ERR_JWE_INVALID", "ERR_JWE_ALG_NOT_ALLOWED")


def test_genuine_pbes2_token_is_derived_once(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control for the test above: the derivation counter does see a genuine token's count."""
    derivations: list[int] = []
    original = _PBES2Algorithm.compute_derived_key

    def counting(self: Any, key: bytes, p2s: bytes, count: int) -> bytes:
        derivations.append(count)
        return original(self, key, p2s, count)

    monkeypatch.setattr(_PBES2Algorithm, "compute_derived_key", counting)
    token = CONFIGS["pbes2"].encode_token(claims())  # stock joserfc cannot write p2c > 300000
    KEK_CACHE.clear()  # as if sealed by another process: reading it needs a derivation
    derivations.clear()
    assert send(client, "/s/d-pw", cookie=f"d-pw={token}").json()["id"] == "j"
    assert derivations == [600_000]


def test_zip_is_refused_even_when_genuinely_encrypted(client: TestClient[Any]) -> None:
    header = {"alg": "A256KW", "enc": "A256GCM", "zip": "DEF", "typ": "JWT", "kid": A256KW["kid"]}
    payload = json.dumps({**claims(), "pad": "x" * 2000}).encode()
    token = jwe.encrypt_compact(header, payload, joserfc_key(A256KW), algorithms=["A256KW", "A256GCM", "DEF"])
    assert len(token) < 600  # compressed: a small token would inflate to much more
    RECORDER.clear()
    _anonymous(send(client, "/s/d-jwe", cookie=f"d-jwe={token}"))
    assert RECORDER.counts() == {"on_error": 1}
    # control: the same content without zip is accepted
    plain = forge_jwe(claims(), A256KW, enc="A256GCM")
    assert send(client, "/s/d-jwe", cookie=f"d-jwe={plain}").json()["id"] == "j"


@pytest.mark.parametrize("transport", ["header", "cookie", "chunks"])
@pytest.mark.parametrize("size", [MAX_TOKEN + 1, 1_000_000])
def test_oversized_tokens_are_refused_before_any_decoding(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch, transport: str, size: int
) -> None:
    decoded: list[int] = []
    original = headers_module.urlsafe_b64decode

    def counting(data: bytes) -> bytes:
        decoded.append(len(data))
        return original(data)

    monkeypatch.setattr(headers_module, "urlsafe_b64decode", counting)
    token = forge_jws(claims(), HS256)
    huge = (token + "." + "A" * size)[: max(size, len(token) + 1)]
    if transport == "header":
        response = send(client, "/s/d-jws", headers={"x-d-jws-session": huge})
    elif transport == "cookie":
        response = send(client, "/s/d-jws", cookie=f"d-jws={huge}")
    else:
        count = min(MAX_CHUNKS, -(-len(huge) // 4000))
        step = -(-len(huge) // count)
        pieces = [huge[i : i + step] for i in range(0, len(huge), step)]
        cookie = "; ".join(
            [f"d-jws=__chunked__{len(pieces)}", *(f"d-jws.{i}={p}" for i, p in enumerate(pieces, 1))]
        )
        response = send(client, "/s/d-jws", cookie=cookie)
    RECORDER.clear()
    _anonymous(response)
    too_big_cookie = transport != "header" and len(huge) > MAX_COOKIE_HEADER_SIZE
    assert decoded == []
    if not too_big_cookie:
        RECORDER.clear()
        response = send(client, "/s/d-jws", headers={"x-d-jws-session": huge})
        assert [c.code for c in RECORDER.of("on_error")] == ["ERR_TOKEN_TOO_LARGE"]


def test_cookie_header_over_the_cap_is_ignored(client: TestClient[Any]) -> None:
    good = forge_jws(claims(), HS256)
    filler = "f=" + "x" * (MAX_COOKIE_HEADER_SIZE + 10)
    RECORDER.clear()
    _anonymous(send(client, "/s/d-jws", cookie=f"d-jws={good}; {filler}"))
    assert RECORDER.counts() == {}  # no token at all: nothing was parsed
    # control: under the cap the same session reads
    assert send(client, "/s/d-jws", cookie=f"d-jws={good}; f=small").json()["id"] == "j"


def test_only_small_cookie_headers_are_memoised() -> None:
    small = b"a=1; b=2; memo-test=1"
    big = b"a=" + b"x" * 9000 + b"; memo-test=2"
    assert parse_cookie_value(small)["b"] == "2"
    assert parse_cookie_value(big)["memo-test"] == "2"
    assert small in cookies_module._PARSED
    assert big not in cookies_module._PARSED
    assert parse_cookie_value(b"x=" + b"y" * (MAX_COOKIE_HEADER_SIZE + 1)) == {}


def test_chunk_announcements_beyond_the_cap_read_nothing(client: TestClient[Any]) -> None:
    token = forge_jws(claims(), HS256)
    pieces = [token[i : i + 2] for i in range(0, len(token), 2)]
    assert len(pieces) > MAX_CHUNKS
    cookie = "; ".join(
        [f"d-jws=__chunked__{len(pieces)}", *(f"d-jws.{i}={p}" for i, p in enumerate(pieces, 1))]
    )
    RECORDER.clear()
    _anonymous(send(client, "/s/d-jws", cookie=cookie))
    assert RECORDER.counts() == {}
    # and exactly MAX_CHUNKS chunks still read
    size = -(-len(token) // MAX_CHUNKS)
    pieces = [token[i : i + size] for i in range(0, len(token), size)]
    assert len(pieces) <= MAX_CHUNKS
    cookie = "; ".join(
        [f"d-jws=__chunked__{len(pieces)}", *(f"d-jws.{i}={p}" for i, p in enumerate(pieces, 1))]
    )
    assert send(client, "/s/d-jws", cookie=cookie).json()["id"] == "j"
