"""Malformed input of every kind must come out of ``decode``/``header`` as a SessionError, nothing else."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose_support import NOW, claims, replace_segment, with_header
from joserfc.util import json_b64encode, urlsafe_b64encode

from litestar_jwtsession.jose import ErrorCode, JWECodec, JWSCodec, KeyPair, SessionError

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar_jwtsession.jose import JWK

Codec = JWSCodec | JWECodec


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode()


def _assert_session_error(codec: Codec, token: Any, **kwargs: Any) -> SessionError:
    with pytest.raises(SessionError) as info:
        codec.decode(token, now=NOW, **kwargs)
    assert isinstance(info.value.code, ErrorCode)
    return info.value


@pytest.fixture(scope="module")
def codecs(oct_for: Callable[[str], JWK], pair_for: Callable[[str], KeyPair]) -> dict[str, Codec]:
    return {
        "hs256": JWSCodec(oct_for("HS256")),
        "es256": JWSCodec(pair_for("ES256")),
        "eddsa": JWSCodec(pair_for("EdDSA")),
        "password": JWECodec("correct horse battery", pbes2_iterations=1000),
        "a128kw": JWECodec(oct_for("A128KW")),
        "a256gcmkw": JWECodec(oct_for("A256GCMKW")),
        "dir": JWECodec(oct_for("A128CBC-HS256")),
        "rsa": JWECodec(pair_for("RSA-OAEP-256")),
        "ecdh": JWECodec(pair_for("ECDH-ES+A128KW")),
    }


def _valid(codec: Codec) -> str:
    return codec.sign(claims()) if isinstance(codec, JWSCodec) else codec.seal(claims())


STRUCTURAL = [
    "",
    ".",
    "a",
    "a.b",
    "a.b.c.d",
    "a.b.c.d.e.f",
    "....",
    "..",
    "é.é.é",
    "é.é.é.é.é",
    "\x00.\x00.\x00",
    "!!!.!!!.!!!",
    "!!!.!!!.!!!.!!!.!!!",
    _b64(b"not json") + ".e30.c2ln",
    _b64(b"not json") + ".e30.c2ln.e30.c2ln",
    _b64(b'"alg"') + ".e30.c2ln",  # a JSON string header (joserfc: TypeError)
    _b64(b'"alg enc"') + ".a.b.c.d",
    _b64(b"[1,2]") + ".e30.c2ln",
    _b64(b"[1,2]") + ".a.b.c.d",
    _b64(b"{}") + ".e30.c2ln",
    _b64(b"{}") + ".a.b.c.d",
    _b64(b"null") + ".e30.c2ln",
    _b64(bytes([0xFF, 0xFE])) + ".e30.c2ln",
    "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln",  # padding
]


@pytest.mark.parametrize("token", STRUCTURAL)
@pytest.mark.parametrize("name", ["hs256", "password", "a128kw", "dir"])
def test_structural_garbage(codecs: dict[str, Codec], name: str, token: str) -> None:
    _assert_session_error(codecs[name], token)
    with contextlib.suppress(SessionError):  # header() promises a JSON object, not a usable header
        assert isinstance(codecs[name].header(token), dict)


@pytest.mark.parametrize("token", [None, b"a.b.c", 42, ["a"], {"a": 1}])
def test_non_string_tokens(codecs: dict[str, Codec], token: Any) -> None:
    for codec in codecs.values():
        _assert_session_error(codec, token)


def test_oversized_tokens(codecs: dict[str, Codec]) -> None:
    for codec in codecs.values():
        token = _valid(codec)
        assert _assert_session_error(codec, token + "A" * 70_000).code is ErrorCode.TOKEN_TOO_LARGE
    small = JWSCodec(next(iter([{"kty": "oct", "k": _b64(b"k" * 32), "alg": "HS256"}])), max_token_size=50)
    assert _assert_session_error(small, "x" * 51).code is ErrorCode.TOKEN_TOO_LARGE
    with pytest.raises(SessionError) as info:
        small.header("x" * 51)
    assert info.value.code is ErrorCode.TOKEN_TOO_LARGE


@pytest.mark.parametrize(
    "header",
    [
        {"typ": "JWT", "alg": 1},
        {"typ": "JWT", "alg": ["HS256"]},
        {"typ": "JWT", "alg": {"x": 1}},
        {"typ": "JWT"},
        {"typ": "JWT", "alg": "HS256", "kid": 5},
        {"typ": "JWT", "alg": "HS256", "kid": ["a"]},
        {"typ": "JWT", "alg": "HS256", "crit": "b64"},
        {"typ": "JWT", "alg": "HS256", "crit": ["kid"]},
        {"typ": "JWT", "alg": "HS256", "jku": "file:///etc/passwd"},
        {"typ": "JWT", "alg": "HS256", "b64": False},
        {"typ": "JWT", "alg": "HS256", "b64": False, "crit": ["b64"]},
        {"typ": "JWT", "alg": "HS256", "cty": 3},
        {"typ": "JWT", "alg": "RS256"},
        {"typ": "JWT", "alg": "ES256K"},
        {"typ": "JWT", "alg": "Ed448"},
    ],
)
def test_jws_hostile_headers(codecs: dict[str, Codec], header: dict[str, Any]) -> None:
    token = _valid(codecs["hs256"])
    edited = json_b64encode(header).decode() + "." + token.partition(".")[2]
    _assert_session_error(codecs["hs256"], edited)


@pytest.mark.parametrize(
    "changes",
    [
        {"alg": 1},
        {"enc": 1},
        {"enc": None},
        {"enc": "DEF"},
        {"enc": "A128GCM", "zip": "DEF"},
        {"zip": 1},
        {"p2s": 5},
        {"p2s": "!!"},
        {"p2s": ""},
        {"p2c": 10**30},
        {"p2c": 0},
        {"p2c": -1},
        {"p2c": True},
        {"epk": "nope"},
        {"epk": {"kty": "EC"}},
        {"iv": 5},
        {"tag": "!!"},
        {"kid": 3},
        {"crit": ["p2c"]},
        {"crit": ["x"], "x": 1},
        {"alg": "RSA1_5"},
        {"alg": "ECDH-1PU"},
    ],
)
@pytest.mark.parametrize("name", ["password", "a128kw", "a256gcmkw", "ecdh"])
def test_jwe_hostile_headers(codecs: dict[str, Codec], name: str, changes: dict[str, Any]) -> None:
    _assert_session_error(codecs[name], with_header(_valid(codecs[name]), **changes))


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (1, "!!!"),
        (1, "A"),
        (1, "A" * 2000),
        (2, ""),
        (2, "!!!"),
        (2, "AAAA"),
        (2, "A" * 100),
        (3, ""),
        (3, "!!!"),
        (3, "A"),
        (4, ""),
        (4, "AAAA"),
        (4, "!!!"),
        (4, "A" * 100),
    ],
)
@pytest.mark.parametrize("name", ["password", "a128kw", "dir", "rsa", "ecdh"])
def test_jwe_broken_segments(codecs: dict[str, Codec], name: str, index: int, value: str) -> None:
    _assert_session_error(codecs[name], replace_segment(_valid(codecs[name]), index, value))


@pytest.mark.parametrize("name", ["hs256", "es256", "eddsa"])
@pytest.mark.parametrize(("index", "value"), [(1, "!!!"), (1, ""), (1, "A"), (2, "!!!"), (2, "A" * 2000)])
def test_jws_broken_segments(codecs: dict[str, Codec], name: str, index: int, value: str) -> None:
    _assert_session_error(codecs[name], replace_segment(_valid(codecs[name]), index, value))


@pytest.mark.parametrize("name", ["hs256", "password"])
def test_hostile_lookup_results(codecs: dict[str, Codec], name: str) -> None:
    token = _valid(codecs[name])
    for key in (
        0,
        "",
        b"bytes",
        {"keys": [1, 2]},
        {"kty": "oct"},
        {"kty": "oct", "k": 5, "alg": "HS256"},
        {"kty": "EC", "crv": "P-256", "x": "!", "y": "!", "alg": "ES256"},
        [None],
        {"keys": [{"kty": "nope"}]},
        {"kty": "oct", "k": _b64(b"k" * 32), "alg": ["HS256"]},
        {"kty": ["oct"], "k": _b64(b"k" * 32)},
        {"kty": "EC", "crv": ["P-256"], "x": "AA", "y": "AA"},
        KeyPair(public_key={"kty": "OKP", "crv": "Ed25519", "x": "AA"}),
    ):
        _assert_session_error(codecs[name], token, key=key)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_mutations(codecs: dict[str, Codec], data: st.DataObject) -> None:
    """Random edits of genuine tokens: either a (legitimately) valid payload or a SessionError."""
    name = data.draw(st.sampled_from(sorted(codecs)))
    codec = codecs[name]
    token = _valid(codec)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.text(alphabet="AZaz09-_.=+/ é\x00", min_size=0, max_size=3))
    mutated = token[:position] + replacement + token[position + 1 :]
    try:
        payload = codec.decode(mutated, now=NOW)
    except SessionError:
        return
    assert payload == claims()  # an edit that decodes at all must not change the payload


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(max_size=200))
def test_fuzzed_text(codecs: dict[str, Codec], token: str) -> None:
    for codec in codecs.values():
        with pytest.raises(SessionError):
            codec.decode(token, now=NOW)
