"""Error messages carry no raw attacker text (issue 11, finding 9).

A forged token's header values (``crit`` names, ``kid``, ``alg``) and whatever a library says
about them end up in ``SessionError.message``, which ``on_error`` hooks typically log. Every such
value is escaped (no line breaks or terminal escapes) and bounded in length.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    generate_jwk,
    requires_session,
)
from litestar_jwtsession.errors import safe_text
from tests.helpers import b64url, b64url_decode, forge_jwe, send

HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
FORGED = "x\nFAKE LOG LINE level=CRITICAL user=admin"


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"jti": "j", "iat": now, "exp": now + 60}


def _signed(header: dict[str, Any], key: dict[str, Any] = HS256) -> str:
    """A JWS with ``header`` verbatim, signed with ``key`` (joserfc would refuse to write it)."""
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(_claims()))}"
    mac = hmac.new(b64url_decode(key["k"]), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _jws_header(**members: Any) -> dict[str, Any]:
    return {"alg": "HS256", "typ": "JWT", "kid": HS256["kid"], **members}


def _app(config: Any, messages: list[str], *, key_lookup: Any = None) -> Litestar:
    @config.hooks.on_error
    def log_error(event: HookEvent) -> None:
        assert event.error is not None
        messages.append(event.error.message)

    if key_lookup is not None:
        config.hooks.on_key_lookup(key_lookup)

    @get("/guarded", guards=[requires_session(config)])
    async def guarded() -> str:
        return "secret"

    return Litestar([guarded], plugins=[JWTSessionPlugin(sessions=[config])])


def _refused(config: Any, token: str, *, key_lookup: Any = None) -> str:
    """The one ``on_error`` message of a guarded request carrying ``token`` in a cookie."""
    messages: list[str] = []
    app = _app(config, messages, key_lookup=key_lookup)
    with TestClient(app, base_url="https://testserver.local") as client:
        assert send(client, "/guarded", cookie=f"{config.name}={token}").status_code == 401
    assert len(messages) == 1
    return messages[0]


def _assert_single_line(message: str) -> None:
    """What a log line needs: no line breaks (``splitlines`` knows them all), no escapes."""
    assert message.isprintable(), message
    assert len(message.splitlines()) == 1


def test_a_crit_header_name_is_escaped() -> None:
    config = JWSSessionConfig(key=HS256, name="li-crit")
    message = _refused(config, _signed(_jws_header(crit=[FORGED])))
    _assert_single_line(message)
    assert "x\\nFAKE LOG LINE" in message  # escaped, still readable


def test_a_crit_header_name_is_escaped_in_a_jwe() -> None:
    config = JWESessionConfig(key=A256KW, name="li-jwe")
    genuine = forge_jwe(_claims(), A256KW, enc="A256GCM")
    header = {"alg": "A256KW", "enc": "A256GCM", "typ": "JWT", "kid": A256KW["kid"], "crit": [FORGED]}
    token = ".".join([b64url(json.dumps(header)), *genuine.split(".")[1:]])
    message = _refused(config, token)
    _assert_single_line(message)
    assert "x\\nFAKE LOG LINE" in message


def test_an_unknown_kid_is_escaped_and_bounded() -> None:
    config = JWSSessionConfig(key=HS256, name="li-kid")
    message = _refused(config, _signed(_jws_header(kid=FORGED + "\x1b[2J" + "k" * 20_000)))
    _assert_single_line(message)
    assert "\x1b" not in message
    assert len(message) < 1000


def test_a_disallowed_alg_is_escaped_and_bounded() -> None:
    config = JWSSessionConfig(key=HS256, name="li-alg")
    message = _refused(config, _signed(_jws_header(alg="HS256\r\n" + FORGED + "A" * 20_000)))
    _assert_single_line(message)
    assert len(message) < 1000


def test_a_failing_key_lookup_is_escaped() -> None:
    config = JWSSessionConfig(key=HS256, name="li-lookup")

    def lookup(event: HookEvent) -> Any:
        assert event.header is not None
        raise LookupError(f"unknown kid {event.header['kid']}")  # an app quoting the header as is

    message = _refused(config, _signed(_jws_header(kid=FORGED)), key_lookup=lookup)
    _assert_single_line(message)


@pytest.mark.parametrize(
    ("value", "quote", "expected"),
    [
        ("plain text", False, "plain text"),
        ("a\nb\r\tc", False, "a\\nb\\r\\tc"),
        ("\x1b[31m\u2028\x85", False, "\\x1b[31m\\u2028\\x85"),
        ("é and €", False, "é and €"),
        ("a\nb", True, "'a\\nb'"),
        (["a\nb", 1], True, "['a\\nb', 1]"),
        ("x" * 300, False, "x" * 256 + "..."),
    ],
)
def test_safe_text(value: Any, quote: bool, expected: str) -> None:
    assert safe_text(value, quote=quote) == expected
