"""Cookie names and attributes match unjwt's defaults, apart from the documented differences.

unjwt's h3 v2 adapter writes ``Path=/; Secure`` (plus ``HttpOnly`` for JWE) and, with ``maxAge``,
``Expires=createdAt+maxAge``; it writes no ``SameSite`` and no ``Max-Age``. This library adds
``SameSite=Lax`` to every cookie and ``Max-Age=0`` to the deleting ones (see docs/interop.md).
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import pytest

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, generate_jwk
from tests.interop._support import Jar, parse_set_cookie

pytestmark = pytest.mark.interop

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
DIFFERENCES = {"samesite": "Lax"}  # what we add to every cookie
CLEAR_DIFFERENCES = {**DIFFERENCES, "max-age": "0"}  # ...and to the deleting ones


def unjwt_defaults(kind: str, expires_ms: int | None) -> dict[str, str]:
    """The attributes unjwt's adapter writes by default (spec §2.1, F1)."""
    attributes = {"path": "/", "secure": ""}
    if kind == "jwe":
        attributes["httponly"] = ""
    if expires_ms is not None:
        attributes["expires"] = formatdate(expires_ms / 1000, usegmt=True)
    return attributes


@pytest.mark.parametrize("max_age", [None, 3600], ids=["session-cookie", "max-age"])
@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_cookie_attributes(kind: str, max_age: int | None, make_spec: Any, sides: dict[str, Any]) -> None:
    alg = "HS256" if kind == "jws" else "A128KW"
    spec = make_spec(kind, alg, "py", "attrs", str(max_age), max_age=max_age)
    for side in sides.values():
        side.configure(spec)

    written: dict[str, Any] = {}
    cleared: dict[str, Any] = {}
    for label, side in sides.items():
        jar = Jar()
        reply = side.update(spec, jar, {"small": True})
        (cookie,) = (parse_set_cookie(header) for header in reply.set_cookies)
        assert cookie.name == spec.name
        written[label] = (cookie, reply.session.get("expiresAt"))
        (clearing,) = (parse_set_cookie(header) for header in side.clear(spec, jar).set_cookies)
        assert clearing.name == spec.name
        assert clearing.value == ""
        cleared[label] = clearing

    for label, (cookie, expires_ms) in written.items():
        assert (expires_ms is None) == (max_age is None)
        expected = unjwt_defaults(kind, expires_ms)
        if label == "py":
            expected.update(DIFFERENCES)
        assert cookie.attributes == expected, label

    node_clear = {"path": "/", "secure": "", "expires": EPOCH} | ({"httponly": ""} if kind == "jwe" else {})
    assert cleared["node"].attributes == node_clear
    assert cleared["py"].attributes == {**node_clear, **CLEAR_DIFFERENCES}


@pytest.mark.parametrize("kind", ["jws", "jwe"])
def test_chunk_cookie_attributes(kind: str, make_spec: Any, sides: dict[str, Any]) -> None:
    """Every chunk carries the main cookie's attributes, on both sides."""
    alg = "HS256" if kind == "jws" else "A128KW"
    spec = make_spec(kind, alg, "py", "chunk-attrs")
    for side in sides.values():
        side.configure(spec)
    for label, side in sides.items():
        reply = side.update(spec, Jar(), {"blob": "x" * 5000})
        cookies = [parse_set_cookie(header) for header in reply.set_cookies]
        assert [cookie.name for cookie in cookies] == [spec.name, f"{spec.name}.1", f"{spec.name}.2"]
        expected = unjwt_defaults(kind, reply.session["expiresAt"])
        if label == "py":
            expected.update(DIFFERENCES)
        assert all(cookie.attributes == expected for cookie in cookies), label


def test_default_names_differ() -> None:
    """A deliberate difference: our default session names are not unjwt's ``h3-jws``/``h3-jwe``.

    Sharing sessions therefore needs ``name`` set on both sides (docs/interop.md).
    """
    jws = JWSSessionConfig(key=generate_jwk("HS256"))
    jwe = JWESessionConfig(key=generate_jwk("A128KW"))
    assert (jws.name, jwe.name) == ("litestar-jws", "litestar-jwe")
    # the header stem follows the name exactly as unjwt's does: x-<name lowercased>-session
    assert JWSSessionConfig(key=generate_jwk("HS256"), name="H3-JWS").header_name == "x-h3-jws-session"
