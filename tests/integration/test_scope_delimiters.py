"""A ``scope`` string is split on the ASCII space only (RFC 6749 §3.3; issue 11, finding 10a).

Other whitespace (tabs, line breaks, NO-BREAK SPACE and the other Unicode spaces) is part of a
scope token, so ``"read\\u00a0admin"`` is one scope that grants neither ``read`` nor ``admin``.
Repeated spaces delimit nothing extra.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionClaims,
    generate_jwk,
    requires_scopes,
    session_scopes,
)

HS256 = generate_jwk("HS256")
NON_ASCII_SPACES = ["\u00a0", "\u2003", "\u3000", "\t", "\n", "\x0b", "\x1f"]


class ScopedClaims(SessionClaims):
    scope: str | list[str] | None = None


def _client(config: JWSSessionConfig[Any]) -> TestClient[Any]:
    @get("/admin", guards=[requires_scopes("admin")])
    async def admin() -> str:
        return "admin"

    @get("/either", guards=[requires_scopes("admin", "write", any_of=True)])
    async def either() -> str:
        return "either"

    @get("/both", guards=[requires_scopes("read", "admin")])
    async def both() -> str:
        return "both"

    app = Litestar([admin, either, both], plugins=[JWTSessionPlugin(access=config)])
    return TestClient(app, base_url="https://testserver.local")


def _auth(config: JWSSessionConfig[Any], scope: str) -> dict[str, str]:
    now = int(time.time())
    token = config.encode_token({"sub": "ada", "scope": scope, "jti": str(uuid.uuid4()), "iat": now})
    return {str(config.header_name): token}


@pytest.mark.parametrize("typed", [False, True], ids=["dict-claims", "typed-claims"])
@pytest.mark.parametrize("space", NON_ASCII_SPACES, ids=[f"U+{ord(c):04X}" for c in NON_ASCII_SPACES])
def test_only_the_ascii_space_delimits_scopes(space: str, typed: bool) -> None:
    config = JWSSessionConfig(key=HS256, name="access", claims=ScopedClaims if typed else None)
    with _client(config) as client:
        for path in ("/admin", "/either", "/both"):
            response = client.get(path, headers=_auth(config, f"read{space}admin"))
            assert response.status_code == 403, (path, response.text)


@pytest.mark.parametrize("typed", [False, True], ids=["dict-claims", "typed-claims"])
def test_repeated_and_surrounding_spaces_delimit_nothing_extra(typed: bool) -> None:
    config = JWSSessionConfig(key=HS256, name="access", claims=ScopedClaims if typed else None)
    with _client(config) as client:
        for scope in ("read  admin", " read admin ", "admin   read"):
            for path in ("/admin", "/either", "/both"):
                assert client.get(path, headers=_auth(config, scope)).status_code == 200, (scope, path)


def test_session_scopes() -> None:
    assert session_scopes({"scope": "read\u00a0admin"}) == {"read\u00a0admin"}
    assert session_scopes({"scope": "read\tadmin write"}) == {"read\tadmin", "write"}
    assert session_scopes({"scope": "read  admin "}) == {"read", "admin"}
    assert session_scopes({"scope": "   "}) == frozenset()
    claims = msgspec.convert({"jti": "j", "iat": 1, "scope": "a\u2003b c"}, ScopedClaims)
    assert session_scopes(claims) == {"a\u2003b", "c"}
