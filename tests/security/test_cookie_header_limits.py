"""The ``Cookie`` header is parsed only within what a browser can send (issue 11, finding 10c).

- a header over :data:`MAX_COOKIE_HEADER_SIZE` carries no cookie session (anonymous, not 500),
  while a maximal chunked session and one more full-size cookie still fit under it;
- pairs beyond :data:`MAX_COOKIE_PAIRS` are not parsed;
- each value is percent-decoded once: a value that does not decode to UTF-8 stays as sent.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from litestar_jwtsession import JWSSessionConfig, JWTSessionPlugin, generate_jwk, requires_session
from litestar_jwtsession.session import cookies as cookies_module
from litestar_jwtsession.session.cookies import (
    MAX_CHUNKS,
    MAX_COOKIE_HEADER_SIZE,
    MAX_COOKIE_PAIRS,
    MAX_COOKIE_SIZE,
    parse_cookie_header,
    read_cookie,
)
from tests.helpers import Recorder, forge_jws, send, session_routes

HS256 = generate_jwk("HS256")
NAME = "limits"


@pytest.fixture(scope="module")
def config() -> JWSSessionConfig[Any]:
    return JWSSessionConfig(key=HS256, name=NAME)


@pytest.fixture(scope="module")
def recorder(config: JWSSessionConfig[Any]) -> Recorder:
    return Recorder(config)


@pytest.fixture(scope="module")
def client(config: JWSSessionConfig[Any], recorder: Recorder) -> Any:
    @get("/guarded", guards=[requires_session()])
    async def guarded() -> str:
        return "secret"

    app = Litestar([*session_routes([config]), guarded], plugins=[JWTSessionPlugin(access=config)])
    with TestClient(app, base_url="https://testserver.local", raise_server_exceptions=False) as test_client:
        yield test_client


def _token() -> str:
    return forge_jws({"jti": "j", "iat": int(time.time())}, HS256)


def test_a_header_over_the_cap_carries_no_session(client: TestClient[Any], recorder: Recorder) -> None:
    session = f"{NAME}={_token()}; "
    cookie = session + "f=" + "x" * (MAX_COOKIE_HEADER_SIZE + 1 - len(session) - len("f="))
    assert len(cookie) == MAX_COOKIE_HEADER_SIZE + 1
    recorder.clear()
    assert send(client, f"/s/{NAME}", cookie=cookie).json()["id"] is None
    assert send(client, "/guarded", cookie=cookie).status_code == 401
    assert recorder.counts() == {}  # no token at all: nothing was parsed
    # one character less and the same session reads
    assert send(client, f"/s/{NAME}", cookie=cookie[:-1]).json()["id"] == "j"


def _token_of_length(config: JWSSessionConfig[Any], most: int) -> str:
    """A token of ``config`` with ``most`` characters, or up to three fewer (base64 steps by 4)."""
    claims = {"jti": "big", "iat": int(time.time())}
    pad = (most - len(config.encode_token({**claims, "pad": ""}))) * 3 // 4
    while len(token := config.encode_token({**claims, "pad": "x" * pad})) > most:
        pad -= 1
    assert len(token) > most - 4
    return token


def test_a_maximal_chunked_session_and_one_more_cookie_fit() -> None:
    """At the cookie level: joserfc refuses payloads over 128 KiB, so a token this long is
    ``ERR_TOKEN_TOO_LARGE`` later on, but the cap is not what refuses it."""
    name = "n" * (MAX_COOKIE_SIZE - 4000 - len(".100"))  # the longest name whose chunks a browser keeps
    config = JWSSessionConfig(key=HS256, name=name, max_token_size=MAX_CHUNKS * 4000)
    token = _token_of_length(config, MAX_CHUNKS * 4000)  # the most h3 (and this library) writes
    assert config.cookie_spec is not None
    set_cookies = config.cookie_spec.render_set(token, expires=None, previous_chunks=0)
    assert len(set_cookies) == MAX_CHUNKS + 1
    assert max(len(line.split(";", 1)[0]) - 1 for line in set_cookies) <= MAX_COOKIE_SIZE  # name + value
    header = "; ".join(line.split(";", 1)[0] for line in set_cookies)
    header += "; other=" + "o" * (MAX_COOKIE_SIZE - len("other"))
    assert len(header) <= MAX_COOKIE_HEADER_SIZE
    assert read_cookie(parse_cookie_header([header]), name) == (token, MAX_CHUNKS)


def test_pairs_beyond_the_cap_are_not_parsed(client: TestClient[Any]) -> None:
    session = f"{NAME}={_token()}"
    many = "; ".join(f"c{index}=v" for index in range(MAX_COOKIE_PAIRS))
    assert send(client, f"/s/{NAME}", cookie=f"{many}; {session}").json()["id"] is None
    assert send(client, "/guarded", cookie=f"{many}; {session}").status_code == 401
    assert send(client, f"/s/{NAME}", cookie=f"{session}; {many}").json()["id"] == "j"
    # the budget spans the header values of one request (HTTP/2 may split the Cookie header)
    parsed = parse_cookie_header([many, session])
    assert NAME not in parsed
    assert len(parsed) == MAX_COOKIE_PAIRS
    assert parse_cookie_header(["a=1", f"b=2; {session}"])[NAME] == session.partition("=")[2]


def test_values_are_percent_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = cookies_module.unquote

    def counting(value: str, *args: Any, **kwargs: Any) -> str:
        calls.append(value)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(cookies_module, "unquote", counting)
    parsed = parse_cookie_header(['valid=%41%C3%A9; invalid=%FF%41; stray=100%; quoted="%41"; plain=a.b'])
    assert parsed == {"valid": "Aé", "invalid": "%FF%41", "stray": "100%", "quoted": "A", "plain": "a.b"}
    assert sorted(calls) == sorted(["%41%C3%A9", "%FF%41", "100%", "%41"])  # once per value with a "%"


def test_an_undecodable_value_reaches_the_session_as_sent(
    client: TestClient[Any], recorder: Recorder
) -> None:
    recorder.clear()
    assert send(client, f"/s/{NAME}", cookie=f"{NAME}=%FF.%41.x").json()["id"] is None
    assert [call.code for call in recorder.of("on_error")] == ["ERR_JWS_INVALID"]
    token = _token()
    encoded = token.replace(".", "%2E")  # a client may percent-encode a cookie value
    assert send(client, f"/s/{NAME}", cookie=f"{NAME}={encoded}").json()["id"] == "j"
