"""Sessions written by one side are read, updated and cleared by the other.

The matrix: every key kind of the issue (JWS: HS256, RS256, ES256, EdDSA; JWE: a password at
unjwt's default PBES2 count 600000, A128KW, A256KW, RSA-OAEP-256, ECDH-ES+A256KW) in both
directions. ``py-to-node`` uses keys from our ``generate_jwk``, ``node-to-py`` keys from unjwt's
``generateJWK`` (as JSON), so each direction also proves the other side's keys work here.

Every test shares one cookie jar between the sides, as a browser does for two services behind one
site, and checks: the writer's session is read by the reader with the same ``id``, ``createdAt``,
``expiresAt`` and ``data``; the reader's update is read back by the writer; the reader's clear
removes the cookie, so the writer then sees no session.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop._support import Jar

pytestmark = pytest.mark.interop

JWS_KEYS = ("HS256", "RS256", "ES256", "EdDSA")
JWE_KEYS = ("password", "A128KW", "A256KW", "RSA-OAEP-256", "ECDH-ES+A256KW")
DIRECTIONS = (("py", "node"), ("node", "py"))
DATA: dict[str, Any] = {
    "sub": "alice",
    "scope": ["read:profile", "write:notes"],
    "profile": {"name": "Alice Ünïcødé ✓", "age": 42, "ratio": 1.5, "admin": False, "manager": None},
}


def matrix(keys: tuple[tuple[str, str], ...]) -> list[Any]:
    return [
        pytest.param(kind, alg, writer, reader, id=f"{kind}-{alg}-{writer}-to-{reader}")
        for kind, alg in keys
        for writer, reader in DIRECTIONS
    ]


SESSION_MATRIX = matrix(tuple(("jws", alg) for alg in JWS_KEYS) + tuple(("jwe", alg) for alg in JWE_KEYS))


@pytest.mark.parametrize(("kind", "alg", "writer", "reader"), SESSION_MATRIX)
def test_session_roundtrip(
    kind: str, alg: str, writer: str, reader: str, make_spec: Any, sides: dict[str, Any]
) -> None:
    spec = make_spec(kind, alg, writer)
    first, second = sides[writer], sides[reader]
    first.configure(spec)
    second.configure(spec)
    jar = Jar()

    written = first.update(spec, jar, DATA)
    assert written.error is None
    assert written.session["id"]
    assert written.session["data"] == DATA
    assert written.session["expiresAt"] == written.session["createdAt"] + 3600 * 1000
    assert jar.names(spec.name) == [spec.name]

    seen = second.read(spec, jar)
    assert seen.error is None, seen.error
    assert seen.state == written.state
    assert seen.session["token"] == written.session["token"]
    assert seen.set_cookies == []  # a valid read writes nothing

    updated = second.update(spec, jar, {"step": 2})
    assert updated.error is None
    assert updated.session["id"] != written.session["id"]  # a new jti on every update
    assert updated.session["data"] == {**DATA, "step": 2}

    back = first.read(spec, jar)
    assert back.error is None, back.error
    assert back.state == updated.state

    cleared = second.clear(spec, jar)
    assert cleared.set_cookies, "clear must expire the cookie"
    assert jar.names(spec.name) == []

    after = first.read(spec, jar)
    assert after.error is None
    assert after.session.get("id") is None
    assert after.session.get("data") == {}


CHUNK_MATRIX = matrix((("jws", "HS256"), ("jwe", "A128KW")))


@pytest.mark.parametrize(("kind", "alg", "writer", "reader"), CHUNK_MATRIX)
def test_chunked_cookies(
    kind: str, alg: str, writer: str, reader: str, make_spec: Any, sides: dict[str, Any]
) -> None:
    """Tokens over 4000 characters travel as ``name=__chunked__N`` plus ``name.1 .. name.N``."""
    spec = make_spec(kind, alg, writer, "chunks")
    first, second = sides[writer], sides[reader]
    first.configure(spec)
    second.configure(spec)
    jar = Jar()
    name = spec.name

    written = first.update(spec, jar, {"blob": "x" * 5000})
    assert len(written.session["token"]) > 4000
    assert jar.names(name) == [name, f"{name}.1", f"{name}.2"]
    assert jar.cookies[name].value == "__chunked__2"

    seen = second.read(spec, jar)
    assert seen.error is None, seen.error
    assert seen.state == written.state

    grown = second.update(spec, jar, {"blob": "y" * 9000})
    chunks = -(-len(grown.session["token"]) // 4000)
    assert chunks > 2
    assert jar.names(name) == sorted([name, *(f"{name}.{index}" for index in range(1, chunks + 1))])
    assert first.read(spec, jar).state == grown.state

    shrunk = second.update(spec, jar, {"blob": "small"})
    assert jar.names(name) == [name]  # the surplus chunks were expired
    assert first.read(spec, jar).state == shrunk.state

    first.update(spec, jar, {"blob": "z" * 5000})
    assert jar.names(name) == [name, f"{name}.1", f"{name}.2"]
    second.clear(spec, jar)
    assert jar.names(name) == []  # every chunk expired
    assert first.read(spec, jar).session.get("id") is None


HEADER_MATRIX = matrix((("jws", "RS256"), ("jwe", "A256KW")))


@pytest.mark.parametrize(("kind", "alg", "writer", "reader"), HEADER_MATRIX)
def test_header_transport(
    kind: str, alg: str, writer: str, reader: str, make_spec: Any, sides: dict[str, Any]
) -> None:
    """A token from one side, sent in the default header ``x-<name>-session`` (``Bearer``), is read."""
    spec = make_spec(kind, alg, writer, "header")
    first, second = sides[writer], sides[reader]
    first.configure(spec)
    second.configure(spec)

    written = first.update(spec, Jar(), {"via": "header"})
    client = second.client
    client.cookies.clear()
    path = f"/session/{spec.name}"
    response = client.get(path, headers={f"x-{spec.name}-session": f"Bearer {written.session['token']}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("error") is None, body
    assert {
        key: body["session"].get(key) for key in ("id", "createdAt", "expiresAt", "data")
    } == written.state
