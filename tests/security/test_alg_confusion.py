"""Algorithm-confusion matrix: every forged token is refused with ``on_error`` and a 401.

Tokens are built with joserfc directly or assembled by hand (base64url segments), never with the
library's codec. Each case goes through the cookie and the session header of a guarded route.
"""

import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc import jwe, jws
from joserfc.jwk import ECKey, OctKey, RSAKey
from litestar import Request, get
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    export_pem,
    generate_jwk,
    requires_session,
    use_jwe_session,
    use_jws_session,
)
from tests.helpers import (
    Recorder,
    b64url,
    b64url_decode,
    forge_jwe,
    forge_jws,
    joserfc_key,
    make_client,
    send,
)

RS256 = generate_jwk("RS256")
ES256 = generate_jwk("ES256")
HS256 = generate_jwk("HS256")
A256KW = generate_jwk("A256KW")
OAEP = generate_jwk("RSA-OAEP-256")
ATTACKER_RSA = RSAKey.generate_key(2048, parameters={"kid": RS256.private_key["kid"]})  # type: ignore[index]
ATTACKER_EC = ECKey.generate_key("P-256")

CONFIGS: dict[str, Any] = {
    "rs256": JWSSessionConfig(key=RS256, name="c-rs256"),
    "es256": JWSSessionConfig(key=ES256, name="c-es256"),
    "hs256": JWSSessionConfig(key=HS256, name="c-hs256"),
    "a256kw": JWESessionConfig(key=A256KW, name="c-a256kw"),
    "oaep": JWESessionConfig(key=OAEP, name="c-oaep"),
}
RECORDER = Recorder(*CONFIGS.values())


def claims() -> dict[str, Any]:
    return {"jti": "forged", "iat": int(time.time()), "sub": "admin"}


def _kid(which: str) -> str:
    key = {"rs256": RS256, "es256": ES256, "hs256": HS256, "a256kw": A256KW, "oaep": OAEP}[which]
    jwk = key.private_key if hasattr(key, "private_key") else key
    return str(jwk["kid"])


def hand_jws(header: dict[str, Any], secret: bytes | None, digest: Any = hashlib.sha256) -> str:
    """A compact JWS assembled by hand; ``secret`` None: an empty signature."""
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(claims()))}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def hand_rsa_jws(header: dict[str, Any]) -> str:
    """A compact RS256 JWS signed by hand with the genuine private key (any header)."""
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(claims()))}"
    private = joserfc_key(RS256.private_key).private_key  # type: ignore[arg-type]
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def without_alg(jwk: Any) -> Any:
    """The joserfc key of ``jwk`` without its ``alg`` member (so joserfc signs any RSA alg)."""
    return joserfc_key({k: v for k, v in jwk.items() if k != "alg"})


def jws_header(which: str, alg: str, **extra: Any) -> dict[str, Any]:
    return {"alg": alg, "typ": "JWT", "cty": "application/json", "kid": _kid(which), **extra}


def public_pem(which: str) -> bytes:
    pair = RS256 if which == "rs256" else ES256
    return export_pem(pair.public_key or pair.private_key).encode()


def joserfc_jws(header: dict[str, Any], key: Any) -> str:
    payload = json.dumps(claims()).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[header["alg"]])


def joserfc_jwe(header: dict[str, Any], key: Any, *extra_algs: str) -> str:
    payload = json.dumps(claims()).encode()
    algorithms = [header["alg"], header["enc"], *extra_algs]
    return jwe.encrypt_compact(header, payload, key, algorithms=algorithms)


def jwe_header(which: str, alg: str, enc: str = "A256GCM", **extra: Any) -> dict[str, Any]:
    return {"alg": alg, "enc": enc, "typ": "JWT", "cty": "application/json", "kid": _kid(which), **extra}


def raw_k(jwk: dict[str, Any]) -> bytes:
    return b64url_decode(jwk["k"])


def attacker_rsa_public() -> dict[str, Any]:
    return ATTACKER_RSA.as_dict(private=False)


def _garbage_jwe(header: dict[str, Any]) -> str:
    segments = [json.dumps(header).encode(), b"k" * 40, b"i" * 12, b"c" * 40, b"t" * 16]
    return ".".join(b64url(segment) for segment in segments)


def _signed_with_right_key(which: str, **extra: Any) -> str:
    key = {"rs256": RS256.private_key, "es256": ES256.private_key, "hs256": HS256}[which]  # type: ignore[attr-defined]
    alg = {"rs256": "RS256", "es256": "ES256", "hs256": "HS256"}[which]
    return joserfc_jws(jws_header(which, alg, **extra), joserfc_key(key))


def _quietly(fn: Callable[..., str], *args: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about RSA1_5 when asked to write it
        return fn(*args)


def _raw_oct(secret: bytes) -> OctKey:
    return OctKey(secret, secret)  # built directly: joserfc refuses to import PEM text as an oct key


def _oaep_public() -> Any:
    return joserfc_key(OAEP.public_key or OAEP.private_key)  # type: ignore[arg-type]


# (config, case) -> token factory
CASES: dict[tuple[str, str], Callable[[], str]] = {
    # HMAC keyed with the public key: the classic RS256 -> HS256 confusion
    ("rs256", "HS256-with-public-PEM"): lambda: hand_jws(jws_header("rs256", "HS256"), public_pem("rs256")),
    ("rs256", "HS256-with-public-JWK-JSON"): lambda: hand_jws(
        jws_header("rs256", "HS256"), json.dumps(RS256.public_key).encode()
    ),
    ("rs256", "HS512-with-public-PEM"): lambda: hand_jws(
        jws_header("rs256", "HS512"), public_pem("rs256"), hashlib.sha512
    ),
    ("rs256", "HS256-with-modulus"): lambda: hand_jws(
        jws_header("rs256", "HS256"),
        b64url_decode(RS256.public_key["n"]),  # type: ignore[index]
    ),
    ("es256", "HS256-with-public-PEM"): lambda: hand_jws(jws_header("es256", "HS256"), public_pem("es256")),
    # none, in several spellings
    ("rs256", "none"): lambda: hand_jws(jws_header("rs256", "none"), None),
    ("es256", "none"): lambda: hand_jws(jws_header("es256", "none"), None),
    ("hs256", "none"): lambda: hand_jws(jws_header("hs256", "none"), None),
    ("hs256", "None"): lambda: hand_jws(jws_header("hs256", "None"), None),
    ("hs256", "NONE"): lambda: hand_jws(jws_header("hs256", "NONE"), None),
    ("hs256", "none-with-hs-signature"): lambda: hand_jws(jws_header("hs256", "none"), raw_k(HS256)),
    ("hs256", "empty-alg"): lambda: hand_jws(jws_header("hs256", ""), raw_k(HS256)),
    ("hs256", "alg-list"): lambda: hand_jws(jws_header("hs256", ["HS256"]), raw_k(HS256)),  # type: ignore[arg-type]
    # same family, other algorithm than the key's
    ("rs256", "PS256-right-key"): lambda: joserfc_jws(
        jws_header("rs256", "PS256"), without_alg(RS256.private_key)
    ),
    ("rs256", "RS512-right-key"): lambda: joserfc_jws(
        jws_header("rs256", "RS512"), without_alg(RS256.private_key)
    ),
    ("hs256", "HS512-same-secret"): lambda: hand_jws(
        jws_header("hs256", "HS512"), raw_k(HS256), hashlib.sha512
    ),
    ("hs256", "HS384-same-secret"): lambda: hand_jws(
        jws_header("hs256", "HS384"), raw_k(HS256), hashlib.sha384
    ),
    # another family's key
    ("hs256", "RS256-attacker-key"): lambda: joserfc_jws(jws_header("hs256", "RS256"), ATTACKER_RSA),
    ("es256", "ES256-attacker-key"): lambda: joserfc_jws(jws_header("es256", "ES256"), ATTACKER_EC),
    ("rs256", "RS256-attacker-key-same-kid"): lambda: joserfc_jws(jws_header("rs256", "RS256"), ATTACKER_RSA),
    # wrong kid, genuinely signed
    ("rs256", "wrong-kid"): lambda: _signed_with_right_key("rs256", kid="someone-else"),
    ("hs256", "wrong-kid"): lambda: _signed_with_right_key("hs256", kid="someone-else"),
    ("hs256", "kid-not-a-string"): lambda: hand_jws(jws_header("hs256", "HS256", kid=1), raw_k(HS256)),
    ("hs256", "kid-path-traversal"): lambda: hand_jws(
        jws_header("hs256", "HS256", kid="../../dev/null"), b""
    ),
    # critical extensions nobody understands, genuinely signed
    ("hs256", "crit-unknown"): lambda: hand_jws(
        jws_header("hs256", "HS256", crit=["x-must"], **{"x-must": 1}), raw_k(HS256)
    ),
    ("hs256", "crit-registered-name"): lambda: hand_jws(
        jws_header("hs256", "HS256", crit=["exp"], exp=1), raw_k(HS256)
    ),
    ("hs256", "crit-b64-false"): lambda: hand_jws(
        jws_header("hs256", "HS256", crit=["b64"], b64=False), raw_k(HS256)
    ),
    ("rs256", "crit-unknown"): lambda: hand_rsa_jws(
        jws_header("rs256", "RS256", crit=["x-must"], **{"x-must": 1})
    ),
    ("hs256", "crit-not-a-list"): lambda: hand_jws(jws_header("hs256", "HS256", crit="x"), raw_k(HS256)),
    # embedded or remote keys must never be trusted
    ("rs256", "jwk-header-attacker-key"): lambda: joserfc_jws(
        jws_header("rs256", "RS256", jwk=attacker_rsa_public()), ATTACKER_RSA
    ),
    ("rs256", "jku-header-attacker-key"): lambda: joserfc_jws(
        jws_header("rs256", "RS256", jku="https://attacker.invalid/jwks.json"), ATTACKER_RSA
    ),
    ("rs256", "x5u-header-attacker-key"): lambda: joserfc_jws(
        jws_header("rs256", "RS256", x5u="https://attacker.invalid/cert.pem"), ATTACKER_RSA
    ),
    ("hs256", "jwk-header-oct"): lambda: hand_jws(
        jws_header("hs256", "HS256", jwk={"kty": "oct", "k": b64url(b"a" * 32)}), b"a" * 32
    ),
    ("es256", "jwk-header-attacker-ec"): lambda: joserfc_jws(
        jws_header("es256", "ES256", jwk=ATTACKER_EC.as_dict(private=False)), ATTACKER_EC
    ),
    # JWE: alg/enc swapped or confused
    ("a256kw", "alg-enc-swapped"): lambda: _garbage_jwe(jwe_header("a256kw", "A256GCM", "A256KW")),
    ("a256kw", "dir-with-kw-key"): lambda: forge_jwe(
        claims(), raw_k(A256KW), alg="dir", enc="A256GCM", kid=_kid("a256kw")
    ),
    ("a256kw", "A128KW-other-size"): lambda: forge_jwe(
        claims(), raw_k(A256KW)[:16], alg="A128KW", kid=_kid("a256kw")
    ),
    ("a256kw", "A256GCMKW-same-key"): lambda: joserfc_jwe(
        jwe_header("a256kw", "A256GCMKW"), OctKey.import_key(raw_k(A256KW))
    ),
    ("a256kw", "PBES2-key-as-password"): lambda: forge_jwe(
        claims(), raw_k(A256KW), alg="PBES2-HS256+A128KW", enc="A128GCM", p2c=1000, kid=_kid("a256kw")
    ),
    ("a256kw", "alg-none"): lambda: _garbage_jwe(jwe_header("a256kw", "none")),
    ("a256kw", "RSA-OAEP-attacker"): lambda: joserfc_jwe(jwe_header("a256kw", "RSA-OAEP"), ATTACKER_RSA),
    ("a256kw", "ECDH-ES-attacker"): lambda: joserfc_jwe(
        jwe_header("a256kw", "ECDH-ES"), ECKey.generate_key("P-256").as_dict(private=False) and ATTACKER_EC
    ),
    ("a256kw", "wrong-kid"): lambda: joserfc_jwe(
        jwe_header("a256kw", "A256KW", kid="someone-else"), joserfc_key(A256KW)
    ),
    ("a256kw", "crit-unknown"): lambda: _garbage_jwe(
        jwe_header("a256kw", "A256KW", crit=["x-must"], **{"x-must": 1})
    ),
    ("a256kw", "zip-DEF-right-key"): lambda: joserfc_jwe(
        jwe_header("a256kw", "A256KW", zip="DEF"), joserfc_key(A256KW), "DEF"
    ),
    ("a256kw", "jwk-header-attacker"): lambda: joserfc_jwe(
        jwe_header("a256kw", "A256KW", jwk={"kty": "oct", "k": b64url(b"b" * 32)}),
        OctKey.import_key(b"b" * 32),
    ),
    ("oaep", "RSA1_5-public-key"): lambda: _quietly(
        joserfc_jwe, jwe_header("oaep", "RSA1_5"), _oaep_public()
    ),
    ("oaep", "RSA-OAEP-sha1-public-key"): lambda: joserfc_jwe(jwe_header("oaep", "RSA-OAEP"), _oaep_public()),
    ("oaep", "dir-with-public-key-hash"): lambda: forge_jwe(
        claims(),
        hashlib.sha256(export_pem(OAEP.public_key or {}).encode()).digest(),
        alg="dir",
        enc="A256GCM",
    ),
    ("oaep", "PBES2-public-PEM-as-password"): lambda: joserfc_jwe(
        jwe_header("oaep", "PBES2-HS256+A128KW", p2c=1000),
        _raw_oct(export_pem(OAEP.public_key or {}).encode()),
    ),
    ("oaep", "jku-header-attacker"): lambda: joserfc_jwe(
        jwe_header("oaep", "RSA-OAEP-256", jku="https://attacker.invalid/jwks.json"), ATTACKER_RSA
    ),
    ("oaep", "x5u-header-attacker"): lambda: joserfc_jwe(
        jwe_header("oaep", "RSA-OAEP-256", x5u="https://attacker.invalid/cert.pem"), ATTACKER_RSA
    ),
}


def _guarded(name: str) -> Any:
    config = next(config for config in CONFIGS.values() if config.name == name)

    @get(f"/guarded/{name}", guards=[requires_session(config)], name=f"guarded-{name}")
    async def handler(request: Request[Any, Any, Any]) -> dict[str, Any]:
        use = use_jwe_session if isinstance(config, JWESessionConfig) else use_jws_session
        return {"data": (await use(request, config)).data}

    return handler


@pytest.fixture(scope="module")
def client() -> Any:
    handlers = [_guarded(config.name) for config in CONFIGS.values()]
    with make_client(list(CONFIGS.values()), handlers) as test_client:
        yield test_client


@pytest.mark.parametrize("which", sorted(CONFIGS))
def test_genuine_tokens_pass(client: TestClient[Any], which: str) -> None:
    """The matrix is meaningful: the same configs accept their genuine tokens."""
    config = CONFIGS[which]
    if which == "a256kw":
        token = forge_jwe(claims(), A256KW)
    elif which == "oaep":
        token = forge_jwe(claims(), OAEP.public_key or {}, alg="RSA-OAEP-256")
    else:
        token = forge_jws(
            claims(), {"rs256": RS256.private_key, "es256": ES256.private_key, "hs256": HS256}[which]
        )  # type: ignore[dict-item]
    response = send(client, f"/guarded/{config.name}", cookie=f"{config.name}={token}")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"sub": "admin"}


@pytest.mark.parametrize("transport", ["cookie", "header"])
@pytest.mark.parametrize(("which", "case"), sorted(CASES))
def test_confused_token_is_refused(client: TestClient[Any], which: str, case: str, transport: str) -> None:
    config = CONFIGS[which]
    token = CASES[(which, case)]()
    RECORDER.clear()
    if transport == "cookie":
        response = send(client, f"/guarded/{config.name}", cookie=f"{config.name}={token}")
    else:
        response = send(client, f"/guarded/{config.name}", headers={f"x-{config.name}-session": token})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert RECORDER.counts() == {"on_error": 1}, (case, RECORDER.calls)
    [call] = RECORDER.of("on_error", config.name)
    assert call.code is not None
    assert call.code.startswith("ERR_")


def test_matrix_size() -> None:
    assert len(CASES) >= 45
