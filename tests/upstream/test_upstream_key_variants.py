"""Upstream group E, "key variants" (spec §6 tests 34-38)."""

from typing import Any

from litestar import Litestar, Request, get
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    use_jwe_session,
    use_jws_session,
)

from ._support import first_cookie, send


def _round_trip(cfg: Any, use: Any, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``/init`` runs ``update(data)``; its first Set-Cookie is replayed to ``GET /``."""

    @get("/init")
    async def init(request: Request) -> dict[str, Any]:
        session = await use(request, cfg)
        await session.update(data)
        return {"session": session}

    @get("/")
    async def read(request: Request) -> dict[str, Any]:
        return {"session": await use(request, cfg)}

    app = Litestar(route_handlers=[init, read], plugins=[JWTSessionPlugin(sessions=[cfg])])
    with TestClient(app) as client:
        response = send(client, "GET", "/init")
        assert response.status_code == 200, response.text
        cookie = first_cookie(response)
        response = send(client, "GET", "/", cookie=cookie)
    assert response.status_code == 200, response.text
    return cookie, response.json()


def test_34_jwe_works_with_symmetric_jwk_key(jwe_oct_key: dict[str, Any]) -> None:
    cfg = JWESessionConfig(name="h3-jwe-symjwk", key=jwe_oct_key)
    cookie, body = _round_trip(cfg, use_jwe_session, {"hello": "world"})
    assert cookie.startswith("h3-jwe-symjwk=")
    assert body["session"]["data"] == {"hello": "world"}


def test_35_jwe_works_with_asymmetric_key_pair(jwe_oaep_pair: KeyPair) -> None:
    key = KeyPair(private_key=jwe_oaep_pair.private_key, public_key=jwe_oaep_pair.public_key)
    cfg = JWESessionConfig(name="h3-jwe-keypair", key=key)
    cookie, body = _round_trip(cfg, use_jwe_session, {"secret": "data"})
    assert cookie.startswith("h3-jwe-keypair=")
    assert body["session"]["data"] == {"secret": "data"}


def test_36_jws_works_with_symmetric_jwk_key(jws_oct_key: dict[str, Any]) -> None:
    cfg = JWSSessionConfig(name="h3-jws-symjwk", key=jws_oct_key)
    _, body = _round_trip(cfg, use_jws_session, {"foo": "bar"})
    assert body["session"]["data"] == {"foo": "bar"}


def test_37_jws_works_with_array_of_public_jwks(jws_array_rsa: KeyPair) -> None:
    key = KeyPair(private_key=jws_array_rsa.private_key, public_key=[jws_array_rsa.public_key])
    cfg = JWSSessionConfig(name="h3-jws-array", key=key)
    _, body = _round_trip(cfg, use_jws_session, {"foo": "bar"})
    assert body["session"]["data"] == {"foo": "bar"}


def test_38_jws_works_with_jwk_set_as_public_key(jws_jwkset_rsa: KeyPair) -> None:
    key = KeyPair(private_key=jws_jwkset_rsa.private_key, public_key={"keys": [jws_jwkset_rsa.public_key]})
    cfg = JWSSessionConfig(name="h3-jws-jwkset", key=key)
    _, body = _round_trip(cfg, use_jws_session, {"baz": "qux"})
    assert body["session"]["data"] == {"baz": "qux"}
