"""Property-based hostile input: random and mutated cookies and headers never cause a 500.

One app (JWS HS256 access + JWE A256KW refresh, CSRF on) with a guarded and an unguarded route,
each for GET and POST. Every generated request goes to both routes. Properties:

- never a status >= 500; the unguarded route always answers 200, the guarded one 200 or 401;
- a session is valid only if the request carried the genuine token: the access token verbatim
  (possibly reassembled from intact chunks), or the genuine refresh token it was re-issued from;
- a cookie-borne session on POST is valid only with the genuine CSRF token.

Counts go to ``tests.security._stats.STATS`` and are printed at the end of the run.
"""

import base64
import time
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
    use_jwe_session,
    use_jws_session,
)
from litestar_jwtsession.session.csrf import csrf_token
from tests.helpers import b64url, b64url_decode, forge_jwe, forge_jws
from tests.security._stats import STATS

HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
MAX_TOKEN = 8192
ACCESS = JWSSessionConfig(key=HS256, name="h-acc", max_token_size=MAX_TOKEN)
REFRESH = JWESessionConfig(key=A256KW, name="h-ref", max_token_size=MAX_TOKEN)
ACC_COOKIE, REF_COOKIE = ACCESS.name, REFRESH.name
ACC_HEADER, REF_HEADER = "x-h-acc-session", "x-h-ref-session"

NOW = int(time.time())
ACC_DATA = {"sub": "alice", "scope": "read"}
REF_DATA = {"sub": "alice", "family": "f1"}
VALID_ACC = forge_jws({"jti": "acc-jti", "iat": NOW, **ACC_DATA}, HS256)
VALID_REF = forge_jwe({"jti": "ref-jti", "iat": NOW, **REF_DATA}, A256KW, enc="A256GCM")
ACC_CSRF = csrf_token(ACCESS.csrf_key, "acc-jti")
REF_CSRF = csrf_token(REFRESH.csrf_key, "ref-jti")
VALID = {"acc": VALID_ACC, "ref": VALID_REF}

EXAMPLES = 400  # per hypothesis test below; x8 tests, each input sent to 2 routes


async def _describe(request: Request[Any, Any, Any]) -> dict[str, Any]:
    access = await use_jws_session(request, ACCESS)
    refresh = await use_jwe_session(request, REFRESH)
    return {
        "acc_valid": access.is_valid,
        "acc_token": access.token,
        "acc_data": access.data,
        "ref_valid": refresh.is_valid,
        "ref_token": refresh.token,
        "ref_data": refresh.data,
    }


@get("/open")
async def open_get(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await _describe(request)


@post("/open", status_code=200)
async def open_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await _describe(request)


@get("/guarded", guards=[requires_session()])
async def guarded_get(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await _describe(request)


@post("/guarded", guards=[requires_session()], status_code=200)
async def guarded_post(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return await _describe(request)


@pytest.fixture(scope="module")
def client() -> Any:
    app = Litestar(
        route_handlers=[open_get, open_post, guarded_get, guarded_post],
        plugins=[JWTSessionPlugin(access=ACCESS, refresh=REFRESH, csrf=True)],
    )
    with TestClient(app, base_url="https://testserver.local", raise_server_exceptions=False) as test_client:
        yield test_client


# --------------------------------------------------------------------------- the oracle

Headers = list[tuple[bytes, bytes]]


def _carried_verbatim(headers: Headers, token: str) -> bool:
    """Whether the request carried ``token`` itself: verbatim in some header (URL-decoded or not),
    or as consecutive chunk cookies ``<name>.1 .. <name>.K``. Acceptance without it is a forgery."""
    raw = b"\n".join(value for _, value in headers)
    raw += b"\n" + unquote_to_bytes(raw)  # cookie values are URL-decoded (as cookie-es does)
    if token.encode() in raw:
        return True
    values: dict[str, str] = {}
    for name, value in headers:
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, _, val = pair.partition("=")
                values.setdefault(key.strip(), val.strip())
    for name in (ACC_COOKIE, REF_COOKIE):
        joined = ""
        for index in range(1, 200):
            joined += values.get(f"{name}.{index}", "\x00")
            if joined == token:
                return True
            if not token.startswith(joined):
                break
    return False


def _has_header(headers: Headers, name: bytes, value: str | None = None) -> bool:
    return any(k == name and (value is None or v == value.encode()) for k, v in headers)


def check(client: TestClient[Any], method: str, headers: Headers, strategy: str) -> None:
    STATS["inputs"] += 1
    STATS[f"strategy:{strategy}"] += 1
    for path in ("/open", "/guarded"):
        client.cookies.clear()
        response = client.request(method, path, headers=headers)
        STATS["requests"] += 1
        if response.status_code >= 500:
            STATS["server_errors"] += 1
        assert response.status_code < 500, (path, headers, response.text)
        if path == "/guarded":
            assert response.status_code in (200, 401), (headers, response.text)
            if response.status_code == 401:
                STATS["rejected"] += 1
                assert response.headers.get("www-authenticate") == "Bearer"
                continue
        else:
            assert response.status_code == 200, (headers, response.text)
        body = response.json()
        if path == "/guarded":
            assert body["acc_valid"]
        STATS["accepted" if body["acc_valid"] else "rejected"] += 1
        _check_body(body, method, headers)


def _check_body(body: dict[str, Any], method: str, headers: Headers) -> None:
    if body["ref_valid"]:
        assert body["ref_token"] == VALID_REF
        assert body["ref_data"] == REF_DATA
        assert _carried_verbatim(headers, VALID_REF)
    if not body["acc_valid"]:
        assert body["acc_data"] == {}
        return
    if body["acc_token"] == VALID_ACC:
        assert body["acc_data"] == ACC_DATA
        assert _carried_verbatim(headers, VALID_ACC)
        via_header = _has_header(headers, ACC_HEADER.encode())
        if method == "POST" and not via_header:
            # the access token's own CSRF token, or that of the genuine refresh cookie of the same
            # subject (one readable token proves the request for every cookie session it carries)
            assert _has_header(headers, b"x-csrf-token", ACC_CSRF) or (
                _has_header(headers, b"x-csrf-token", REF_CSRF)
                and body["ref_valid"]
                and not _has_header(headers, REF_HEADER.encode())  # a header-borne one proves nothing
            )
    else:  # re-issued by the refresh fallback: only from the genuine refresh token
        assert body["ref_valid"], body
        assert body["acc_data"] == REF_DATA
        if method == "POST" and not _has_header(headers, REF_HEADER.encode()):
            assert _has_header(headers, b"x-csrf-token", REF_CSRF)


# --------------------------------------------------------------------------- strategies

_HEADER_BYTES = st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
_LATIN1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300)
_ANY_TEXT = st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
_RAW_VALUE = st.one_of(_HEADER_BYTES, _LATIN1.map(lambda t: t.encode("latin-1")), _ANY_TEXT).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"")
)
_METHOD = st.sampled_from(["GET", "POST"])
_WHICH = st.sampled_from(["acc", "ref"])


def _std_b64(segment: str) -> str:
    return base64.standard_b64encode(b64url_decode(segment)).decode()


@st.composite
def mutated_token(draw: st.DrawFn) -> tuple[str, str]:
    """(which session it targets, a mutation of a genuine token)."""
    which = draw(_WHICH)
    token = VALID[which]
    parts = token.split(".")
    kind = draw(
        st.sampled_from(
            ["truncate", "flip", "std-b64", "padding", "swap", "cross", "insert", "drop-seg", "case", "huge"]
        )
    )
    if kind == "truncate":
        token = token[: draw(st.integers(0, len(token) - 1))]
    elif kind == "flip":
        index = draw(st.integers(0, len(parts) - 1))
        raw = bytearray(b64url_decode(parts[index]))
        if raw:
            position = draw(st.integers(0, len(raw) - 1))
            raw[position] ^= 1 << draw(st.integers(0, 7))
        else:
            raw = bytearray(b"\x00")
        parts[index] = b64url(bytes(raw))
        token = ".".join(parts)
    elif kind == "std-b64":
        index = draw(st.integers(0, len(parts) - 1))
        parts[index] = _std_b64(parts[index])
        token = ".".join(parts)
    elif kind == "padding":
        index = draw(st.integers(0, len(parts) - 1))
        parts[index] += "=" * draw(st.integers(1, 3))
        token = ".".join(parts)
    elif kind == "swap":
        i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
        parts[i], parts[j] = parts[j], parts[i]
        token = ".".join(parts)
    elif kind == "cross":  # a segment of the other genuine token
        other = VALID["ref" if which == "acc" else "acc"].split(".")
        index = draw(st.integers(0, min(len(parts), len(other)) - 1))
        parts[index] = other[index]
        token = ".".join(parts)
    elif kind == "insert":
        position = draw(st.integers(0, len(token)))
        token = token[:position] + draw(st.text(min_size=1, max_size=3)) + token[position:]
    elif kind == "drop-seg":
        del parts[draw(st.integers(0, len(parts) - 1))]
        token = ".".join(parts)
    elif kind == "case":
        position = draw(st.integers(0, len(token) - 1))
        token = token[:position] + token[position].swapcase() + token[position + 1 :]
    else:
        token = token * draw(st.integers(MAX_TOKEN // len(token) + 1, 200))
    return which, token


def _enc(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b"")


def _csrf_header(draw: st.DrawFn, method: str) -> Headers:
    if method != "POST":
        return []
    choice = draw(st.sampled_from(["none", "random", "acc", "ref", "acc-bitflip"]))
    if choice == "none":
        return []
    if choice == "random":
        return [(b"x-csrf-token", draw(_RAW_VALUE))]
    if choice == "acc-bitflip":
        return [(b"x-csrf-token", (ACC_CSRF[:-1] + ("A" if ACC_CSRF[-1] != "A" else "B")).encode())]
    return [(b"x-csrf-token", (ACC_CSRF if choice == "acc" else REF_CSRF).encode())]


# --------------------------------------------------------------------------- the tests

_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_SETTINGS
@given(method=_METHOD, value=_RAW_VALUE, target=st.sampled_from([ACC_COOKIE, REF_COOKIE, None]))
def test_random_cookie_bytes(client: TestClient[Any], method: str, value: bytes, target: str | None) -> None:
    cookie = value if target is None else target.encode() + b"=" + value
    check(client, method, [(b"cookie", cookie)], "random-cookie")


@_SETTINGS
@given(
    method=_METHOD, value=_RAW_VALUE, header=st.sampled_from([ACC_HEADER, REF_HEADER]), bearer=st.booleans()
)
def test_random_session_header(
    client: TestClient[Any], method: str, value: bytes, header: str, bearer: bool
) -> None:
    check(client, method, [(header.encode(), (b"Bearer " if bearer else b"") + value)], "random-header")


@_SETTINGS
@given(
    data=st.data(), method=_METHOD, mutated=mutated_token(), transport=st.sampled_from(["cookie", "header"])
)
def test_mutated_tokens(
    client: TestClient[Any], data: st.DataObject, method: str, mutated: tuple[str, str], transport: str
) -> None:
    which, token = mutated
    if transport == "cookie":
        name = ACC_COOKIE if which == "acc" else REF_COOKIE
        quoting = data.draw(st.sampled_from(["plain", "quoted", "percent"]))
        value = {"plain": token, "quoted": f'"{token}"', "percent": "".join(f"%{b:02X}" for b in _enc(token))}
        headers = [(b"cookie", _enc(f"{name}={value[quoting]}"))]
    else:
        headers = [((ACC_HEADER if which == "acc" else REF_HEADER).encode(), _enc(token))]
    check(client, method, headers + _csrf_header(data.draw, method), "mutated-token")


@_SETTINGS
@given(data=st.data(), method=_METHOD)
def test_duplicated_cookies(client: TestClient[Any], data: st.DataObject, method: str) -> None:
    which = data.draw(_WHICH)
    name = ACC_COOKIE if which == "acc" else REF_COOKIE
    other = data.draw(st.one_of(mutated_token().map(lambda m: m[1]), st.text(max_size=80)))
    pairs = [f"{name}={VALID[which]}", f"{name}={other}"]
    pairs = data.draw(st.permutations(pairs))
    split = data.draw(st.booleans())  # one Cookie header, or one per pair (HTTP/2 style)
    headers = [(b"cookie", _enc(pair)) for pair in pairs] if split else [(b"cookie", _enc("; ".join(pairs)))]
    check(client, method, headers + _csrf_header(data.draw, method), "duplicated-cookie")


@_SETTINGS
@given(data=st.data(), method=_METHOD)
def test_chunk_markers(client: TestClient[Any], data: st.DataObject, method: str) -> None:
    which = data.draw(_WHICH)
    name = ACC_COOKIE if which == "acc" else REF_COOKIE
    token = VALID[which]
    pieces_count = data.draw(st.integers(1, 8))
    size = -(-len(token) // pieces_count)
    pieces = [token[i : i + size] for i in range(0, len(token), size)]
    announced = data.draw(
        st.one_of(
            st.just(str(len(pieces))),
            st.integers(-3, 130).map(str),
            st.sampled_from(["", "x", "1e3", "²", "٣", " 2", "2 ", "+2", "0x2", "99999999999999999999"]),
        )
    )
    chunks = dict(enumerate(pieces, 1))
    for _ in range(data.draw(st.integers(0, 2))):  # drop some
        if chunks:
            chunks.pop(data.draw(st.sampled_from(sorted(chunks))))
    for _ in range(data.draw(st.integers(0, 2))):  # add extra or replaced ones
        chunks[data.draw(st.integers(0, 12))] = data.draw(st.text(max_size=30))
    pairs = [f"{name}=__chunked__{announced}", *(f"{name}.{i}={v}" for i, v in chunks.items())]
    if data.draw(st.booleans()):
        pairs = data.draw(st.permutations(pairs))
    headers = [(b"cookie", _enc("; ".join(pairs)))]
    check(client, method, headers + _csrf_header(data.draw, method), "chunk-markers")


@_SETTINGS
@given(data=st.data(), method=_METHOD)
def test_mixed_transports_and_csrf(client: TestClient[Any], data: st.DataObject, method: str) -> None:
    """Genuine and broken tokens combined over cookie and header, with or without a CSRF token."""
    parts: list[str] = []
    headers: Headers = []
    for which, name, header in (("acc", ACC_COOKIE, ACC_HEADER), ("ref", REF_COOKIE, REF_HEADER)):
        choice = data.draw(st.sampled_from(["none", "valid", "mutated", "random"]))
        token = {
            "none": None,
            "valid": VALID[which],
            "mutated": data.draw(mutated_token().map(lambda m: m[1])),
            "random": data.draw(st.text(max_size=60)),
        }[choice]
        if token is None:
            continue
        if data.draw(st.booleans()):
            parts.append(f"{name}={token}")
        else:
            headers.append((header.encode(), _enc(token)))
    if parts:
        headers.append((b"cookie", _enc("; ".join(parts))))
    check(client, method, headers + _csrf_header(data.draw, method), "mixed")


@_SETTINGS
@given(method=_METHOD, size=st.integers(MAX_TOKEN - 8, 300_000), where=st.sampled_from(["cookie", "header"]))
def test_huge_values(client: TestClient[Any], method: str, size: int, where: str) -> None:
    filler = ("A" * size).encode()
    headers = (
        [(b"cookie", ACC_COOKIE.encode() + b"=" + filler)]
        if where == "cookie"
        else [(b"x-h-acc-session", filler)]
    )
    check(client, method, headers, "huge")


@_SETTINGS
@given(data=st.data())
def test_valid_controls(client: TestClient[Any], data: st.DataObject) -> None:
    """The genuine tokens are accepted through every transport: the properties above are not vacuous."""
    which = data.draw(_WHICH)
    method = data.draw(_METHOD)
    via_header = data.draw(st.booleans())
    if via_header:
        headers = [((ACC_HEADER if which == "acc" else REF_HEADER).encode(), VALID[which].encode())]
    else:
        headers = [(b"cookie", f"{ACC_COOKIE if which == 'acc' else REF_COOKIE}={VALID[which]}".encode())]
        if method == "POST":
            headers.append((b"x-csrf-token", (ACC_CSRF if which == "acc" else REF_CSRF).encode()))
    client.cookies.clear()
    response = client.request(method, "/guarded", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["acc_data"] == (ACC_DATA if which == "acc" else REF_DATA)
    check(client, method, headers, "valid-control")
