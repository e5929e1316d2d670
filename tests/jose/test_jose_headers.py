"""``parse_protected_header``: the one header parser, with the limits and codes of the codecs."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest

from litestar_jwtsession.jose import ErrorCode, JWECodec, JWSCodec, SessionError
from litestar_jwtsession.jose.headers import MAX_HEADER_DEPTH, MAX_TOKEN_SIZE, parse_protected_header

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar_jwtsession.jose import JWK


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _nested(depth: int) -> bytes:
    """A header whose ``x`` member nests ``depth`` levels in all (the object itself is one)."""
    return b'{"alg":"HS256","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


HEADER = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
JWS = _b64(json.dumps(HEADER).encode()) + ".e30.c2ln"
JWE = _b64(json.dumps({**HEADER, "alg": "A128KW", "enc": "A128GCM"}).encode()) + ".a.b.c.d"

# every way a token can be refused before any key is used, with the code each kind gives
REFUSED: list[tuple[Any, str | None]] = [
    (None, "invalid"),
    (b"a.b.c", "invalid"),
    ("", "invalid"),
    ("a", "invalid"),
    ("a.b", "invalid"),
    ("a.b.c.d", "invalid"),
    ("a.b.c.d.e.f", "invalid"),
    ("é.e30.c2ln", "invalid"),
    ("!!!.e30.c2ln", "invalid"),
    (_b64(b"not json") + ".e30.c2ln", "invalid"),
    (_b64(b"[1,2]") + ".e30.c2ln", "invalid"),
    (_b64(b'"alg"') + ".e30.c2ln", "invalid"),
    (_b64(bytes([0xFF, 0xFE])) + ".e30.c2ln", "invalid"),
    (_b64(_nested(MAX_HEADER_DEPTH + 1)) + ".e30.c2ln", "invalid"),
    (_b64(b"[" * 100_000) + ".e30.c2ln", "too large"),
    ("A" * (MAX_TOKEN_SIZE + 1), "too large"),
]


def _code(kind: str, expected: str) -> ErrorCode:
    if expected == "too large":
        return ErrorCode.TOKEN_TOO_LARGE
    return ErrorCode.JWE_INVALID if kind == "JWE" else ErrorCode.JWS_INVALID


def test_reads_the_header_of_either_kind() -> None:
    assert parse_protected_header(JWS) == HEADER
    assert parse_protected_header(JWS, "JWS") == HEADER
    assert parse_protected_header(JWE)["enc"] == "A128GCM"
    assert parse_protected_header(JWE, "JWE")["alg"] == "A128KW"


def test_nesting_up_to_the_bound_is_read() -> None:
    header = parse_protected_header(_b64(_nested(MAX_HEADER_DEPTH)) + ".e30.c2ln")
    assert header["alg"] == "HS256"


@pytest.mark.parametrize(("token", "expected"), REFUSED)
@pytest.mark.parametrize("kind", ["JWS", "JWE"])
def test_refusals_carry_the_codes_of_the_expected_kind(token: Any, expected: str, kind: Any) -> None:
    if isinstance(token, str) and token.count(".") == 2 and kind == "JWE":
        token = token + ".a.b"  # the same header in a JWE's five segments
    with pytest.raises(SessionError) as caught:
        parse_protected_header(token, kind)
    assert caught.value.code is _code(kind, expected)


def test_the_wrong_segment_count_for_the_kind() -> None:
    with pytest.raises(SessionError, match="must contain 5 segments") as caught:
        parse_protected_header(JWS, "JWE")
    assert caught.value.code is ErrorCode.JWE_INVALID
    with pytest.raises(SessionError, match="must contain 3 segments") as caught:
        parse_protected_header(JWE, "JWS")
    assert caught.value.code is ErrorCode.JWS_INVALID


def test_without_a_kind_the_segment_count_decides() -> None:
    with pytest.raises(SessionError, match="this one has 4") as caught:
        parse_protected_header("a.b.c.d")
    assert caught.value.code is ErrorCode.JWS_INVALID
    with pytest.raises(SessionError) as caught:
        parse_protected_header(_b64(b"[1]") + ".a.b.c.d")
    assert caught.value.code is ErrorCode.JWE_INVALID


def test_the_size_bound_is_a_parameter() -> None:
    assert parse_protected_header(JWS, max_token_size=len(JWS)) == HEADER
    with pytest.raises(SessionError) as caught:
        parse_protected_header(JWS, max_token_size=len(JWS) - 1)
    assert caught.value.code is ErrorCode.TOKEN_TOO_LARGE


@pytest.mark.parametrize(("token", "expected"), REFUSED)
def test_same_verdicts_as_the_codecs_header(token: Any, expected: str, oct_for: Callable[[str], JWK]) -> None:
    """The codecs' ``header()`` is to call this function; until it does, both must agree."""
    for kind, codec in (("JWS", JWSCodec(oct_for("HS256"))), ("JWE", JWECodec(oct_for("A128KW")))):
        candidate = (
            token + ".a.b" if isinstance(token, str) and token.count(".") == 2 and kind == "JWE" else token
        )
        with pytest.raises(SessionError) as ours:
            parse_protected_header(candidate, kind)
        with pytest.raises(SessionError) as theirs:
            codec.header(candidate)
        assert ours.value.code is theirs.value.code, (kind, candidate)
    for valid, kind in ((JWS, "JWS"), (JWE, "JWE")):
        codec = JWSCodec(oct_for("HS256")) if kind == "JWS" else JWECodec(oct_for("A128KW"))
        assert parse_protected_header(valid, kind) == codec.header(valid)
