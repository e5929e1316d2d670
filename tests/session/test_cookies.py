"""Unit tests of ``litestar_jwtsession.session.cookies``: parsing, reassembly, rendering, limits."""

import pytest

from litestar_jwtsession import CookieOptions, ErrorCode, SessionError
from litestar_jwtsession.errors import ConfigurationError
from litestar_jwtsession.session.cookies import (
    CHUNK_MARKER,
    MAX_CHUNKS,
    CookieSpec,
    IncomingCookie,
    parse_cookie_header,
    read_cookie,
)
from tests.helpers import EPOCH, http_date

# --------------------------------------------------------------------------- parse_cookie_header


def test_parse_first_occurrence_wins() -> None:
    assert parse_cookie_header(["a=1; b=2; a=3"]) == {"a": "1", "b": "2"}
    assert parse_cookie_header(["a=1", "a=2; c=3"]) == {"a": "1", "c": "3"}


def test_parse_strips_whitespace_and_quotes() -> None:
    assert parse_cookie_header(['  a = 1 ;b="quoted value";c=""; d="x']) == {
        "a": "1",
        "b": "quoted value",
        "c": "",
        "d": '"x',
    }


def test_parse_percent_decoding() -> None:
    assert parse_cookie_header(["a=%20x%3Dy; b=%E2%9C%93; c=plain"]) == {
        "a": " x=y",
        "b": "\u2713",
        "c": "plain",
    }


def test_parse_undecodable_percent_kept_raw() -> None:
    assert parse_cookie_header(["a=%ZZ; b=%E2%28%A1"]) == {"a": "%ZZ", "b": "%E2%28%A1"}


def test_parse_skips_pairs_without_name_or_equals() -> None:
    assert parse_cookie_header(["flag; =nameless; ok=1; ;"]) == {"ok": "1"}
    assert parse_cookie_header([]) == {}
    assert parse_cookie_header([""]) == {}


def test_parse_value_may_contain_equals() -> None:
    assert parse_cookie_header(["t=a.b=c=="]) == {"t": "a.b=c=="}


# --------------------------------------------------------------------------- read_cookie


def test_read_plain_cookie() -> None:
    assert read_cookie({"s": "tok"}, "s") == IncomingCookie("tok", 0)
    assert read_cookie({}, "s") == IncomingCookie(None, 0)
    assert read_cookie({"s": ""}, "s") == IncomingCookie(None, 0)
    assert read_cookie({"other": "tok"}, "s") == IncomingCookie(None, 0)


def test_read_chunked_cookie() -> None:
    cookies = {"s": "__chunked__3", "s.1": "ab", "s.2": "cd", "s.3": "e", "s.4": "ignored"}
    assert read_cookie(cookies, "s") == IncomingCookie("abcde", 3)


@pytest.mark.parametrize(
    ("main", "expected"),
    [
        ("__chunked__0", IncomingCookie(None, 0)),
        ("__chunked__", IncomingCookie(None, 0)),
        ("__chunked__x", IncomingCookie(None, 0)),
        ("__chunked__-1", IncomingCookie(None, 0)),
        ("__chunked__ 2", IncomingCookie(None, 0)),
        ("__chunked__\u00b2", IncomingCookie(None, 0)),
        ("__chunked__101", IncomingCookie(None, MAX_CHUNKS)),
        ("__chunked__99999999999999999999", IncomingCookie(None, MAX_CHUNKS)),
    ],
)
def test_read_bad_chunk_count(main: str, expected: IncomingCookie) -> None:
    cookies = {"s": main, **{f"s.{i}": "x" for i in range(1, 103)}}
    assert read_cookie(cookies, "s") == expected


def test_read_missing_or_empty_chunk() -> None:
    assert read_cookie({"s": "__chunked__3", "s.1": "a", "s.3": "c"}, "s") == IncomingCookie(None, 3)
    assert read_cookie({"s": "__chunked__2", "s.1": "a", "s.2": ""}, "s") == IncomingCookie(None, 2)


def test_read_exactly_max_chunks() -> None:
    cookies = {
        "s": f"{CHUNK_MARKER}{MAX_CHUNKS}",
        **{f"s.{i}": str(i % 10) for i in range(1, MAX_CHUNKS + 1)},
    }
    incoming = read_cookie(cookies, "s")
    assert incoming.chunks == MAX_CHUNKS
    assert incoming.token == "".join(str(i % 10) for i in range(1, MAX_CHUNKS + 1))


# --------------------------------------------------------------------------- CookieSpec


def spec(length: int = 10, *, httponly: bool = False, **options: object) -> CookieSpec:
    return CookieSpec.from_options("s", CookieOptions(chunk_max_length=length, **options), httponly=httponly)  # type: ignore[arg-type]


def test_from_options_attribute_order() -> None:
    full = CookieSpec.from_options(
        "s", CookieOptions(domain="example.com", path="/app", samesite="strict"), httponly=True
    )
    assert full.render_set("t", expires=None, previous_chunks=0) == [
        "s=t; Domain=example.com; Path=/app; HttpOnly; Secure; SameSite=Strict"
    ]
    bare = CookieSpec.from_options("s", CookieOptions(secure=False, samesite=None), httponly=False)
    assert bare.render_set("t", expires=None, previous_chunks=0) == ["s=t; Path=/"]


def test_render_set_with_expires() -> None:
    assert spec().render_set("t", expires=1_750_000_060, previous_chunks=0) == [
        f"s=t; Path=/; Expires={http_date(1_750_000_060)}; Secure; SameSite=Lax"
    ]
    assert http_date(1_750_000_060) == "Sun, 15 Jun 2025 15:07:40 GMT"


def test_render_set_exactly_at_chunk_length_is_one_cookie() -> None:
    token = "x" * 10
    assert spec().chunk_count(token) == 0
    assert spec().render_set(token, expires=None, previous_chunks=0) == [
        f"s={token}; Path=/; Secure; SameSite=Lax"
    ]


def test_render_set_one_above_chunk_length_is_two_chunks() -> None:
    token = "abcdefghij" + "k"
    attrs = "; Path=/; Secure; SameSite=Lax"
    assert spec().chunk_count(token) == 2
    assert spec().render_set(token, expires=None, previous_chunks=0) == [
        f"s=__chunked__2{attrs}",
        f"s.1=abcdefghij{attrs}",
        f"s.2=k{attrs}",
    ]


def test_render_set_chunks_carry_every_attribute() -> None:
    custom = spec(4, httponly=True, domain="d.example", path="/p", samesite="none")
    lines = custom.render_set("aaaabbbbcc", expires=0, previous_chunks=0)
    attrs = f"; Domain=d.example; Path=/p; Expires={EPOCH}; HttpOnly; Secure; SameSite=None"
    assert lines == [f"s=__chunked__3{attrs}", f"s.1=aaaa{attrs}", f"s.2=bbbb{attrs}", f"s.3=cc{attrs}"]


def _expired(name: str) -> str:
    return f"{name}=; Max-Age=0; Path=/; Expires={EPOCH}; Secure; SameSite=Lax"


def test_render_set_expires_surplus_chunks_when_shrinking_to_one_cookie() -> None:
    assert spec().render_set("short", expires=None, previous_chunks=3) == [
        "s=short; Path=/; Secure; SameSite=Lax",
        _expired("s.1"),
        _expired("s.2"),
        _expired("s.3"),
    ]


def test_render_set_expires_only_the_surplus_when_shrinking_to_fewer_chunks() -> None:
    lines = spec().render_set("x" * 15, expires=None, previous_chunks=3)
    assert [line.split("=", 1)[0] for line in lines] == ["s", "s.1", "s.2", "s.3"]
    assert lines[0].startswith("s=__chunked__2;")
    assert lines[3] == _expired("s.3")


def test_render_set_growing_expires_nothing() -> None:
    lines = spec().render_set("x" * 25, expires=None, previous_chunks=2)
    assert [line.split("=", 1)[0] for line in lines] == ["s", "s.1", "s.2", "s.3"]
    assert not any("Max-Age" in line for line in lines)


def test_render_clear() -> None:
    assert spec().render_clear(previous_chunks=0) == [_expired("s")]
    assert spec().render_clear(previous_chunks=2) == [_expired("s"), _expired("s.1"), _expired("s.2")]
    httponly = spec(httponly=True).render_clear(previous_chunks=0)
    assert httponly == [f"s=; Max-Age=0; Path=/; Expires={EPOCH}; HttpOnly; Secure; SameSite=Lax"]


def test_check_fits_up_to_max_chunks() -> None:
    limits = spec(10)
    limits.check_fits("x" * 10 * MAX_CHUNKS)  # exactly 100 chunks
    with pytest.raises(SessionError) as raised:
        limits.check_fits("x" * (10 * MAX_CHUNKS + 1))
    assert raised.value.code == ErrorCode.COOKIE_TOO_LARGE
    assert raised.value.code == "ERR_COOKIE_TOO_LARGE"


def test_round_trip_through_parse_and_read() -> None:
    token = "eyJ" + "a" * 95 + ".sig"
    lines = spec(7).render_set(token, expires=None, previous_chunks=0)
    header = "; ".join(line.split(";", 1)[0] for line in lines)
    assert read_cookie(parse_cookie_header([header]), "s").token == token


# --------------------------------------------------------------------------- CookieOptions


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_max_length": 0},
        {"chunk_max_length": 4001},
        {"samesite": "none", "secure": False},
        {"samesite": "sometimes"},
    ],
)
def test_cookie_options_validation(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        CookieOptions(**options)  # type: ignore[arg-type]


def test_cookie_options_defaults() -> None:
    options = CookieOptions()
    assert (options.path, options.domain, options.secure, options.httponly, options.samesite) == (
        "/",
        None,
        True,
        None,
        "lax",
    )
    assert options.chunk_max_length == 4000
