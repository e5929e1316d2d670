"""Small helpers shared by ``tests/session`` and ``tests/integration``.

Test tokens are forged with joserfc directly (never with the library's own codec), so a test of
"what the library accepts" does not depend on "what the library writes".
"""

import base64
import copy
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx
from joserfc import jwe, jws
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    JWESessionConfig,
    JWTSessionPlugin,
    Session,
    use_jwe_session,
    use_jws_session,
)

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
HOOK_NAMES = ("on_read", "on_update", "on_clear", "on_expire", "on_error")
_KEY_CLASSES: dict[str, Any] = {"oct": OctKey, "RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}


# --------------------------------------------------------------------------- clock and hooks


class FakeClock:
    """A settable session clock (seconds), for the configs' ``clock`` field."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Call:
    """One hook call, with the session state copied at call time (sessions are live objects)."""

    hook: str
    config: str
    event: Any
    id: Any = None
    token: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None


class Recorder:
    """Registers a recording hook for every lifecycle event of the configs it is attached to."""

    def __init__(self, *configs: Any) -> None:
        self.calls: list[Call] = []
        for config in configs:
            self.attach(config)

    def attach(self, config: Any) -> None:
        for hook in HOOK_NAMES:
            getattr(config.hooks, hook)(self._recorder(hook, config.name))

    def _recorder(self, hook: str, name: str) -> Any:
        def record(event: Any) -> None:
            session = event.session
            self.calls.append(
                Call(
                    hook=hook,
                    config=name,
                    event=event,
                    id=getattr(session, "id", None),
                    token=getattr(session, "token", None),
                    data=copy.deepcopy(getattr(session, "data", None) or {}),
                    code=None if event.error is None else str(event.error.code),
                )
            )

        return record

    def of(self, hook: str, config: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.hook == hook and (config is None or c.config == config)]

    def counts(self, config: str | None = None) -> dict[str, int]:
        """Non-zero call counts per hook, e.g. ``{"on_read": 1}``."""
        result: dict[str, int] = {}
        for c in self.calls:
            if config is None or c.config == config:
                result[c.hook] = result.get(c.hook, 0) + 1
        return result

    def clear(self) -> None:
        self.calls.clear()


# --------------------------------------------------------------------------- apps and HTTP


def make_client(configs: Sequence[Any], handlers: Sequence[Any] = ()) -> TestClient[Any]:
    """A TestClient (https, so Secure cookies round-trip) for an app with these sessions.

    The app always has the generic ``session_routes`` for ``configs`` besides ``handlers``.
    """
    app = Litestar(
        route_handlers=[*session_routes(configs), *handlers],
        plugins=[JWTSessionPlugin(sessions=list(configs))],
    )
    return TestClient(app, base_url="https://testserver.local")


async def use(connection: Any, config: Any) -> Session[Any]:
    """``use_jwe_session`` or ``use_jws_session``, whichever fits ``config``."""
    if isinstance(config, JWESessionConfig):
        return await use_jwe_session(connection, config)
    return await use_jws_session(connection, config)


def describe(session: Session[Any]) -> dict[str, Any]:
    return {
        "id": session.id,
        "data": session.data,
        "token": session.token,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
    }


def session_routes(configs: Sequence[Any]) -> list[Any]:
    """``GET /s/<name>`` reads, ``POST /s/<name>`` updates (``?replace=1``), ``POST /s/<name>/clear``."""
    by_name = {config.name: config for config in configs}

    def config_of(request: Request[Any, Any, Any]) -> Any:
        return by_name[request.path_params["name"]]

    @get("/s/{name:str}")
    async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return describe(await use(request, config_of(request)))

    @post("/s/{name:str}", status_code=200)
    async def write(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use(request, config_of(request))
        await session.update(await request.json() or {}, replace="replace" in request.query_params)
        return describe(session)

    @post("/s/{name:str}/clear", status_code=200)
    async def clear(request: Request[Any, Any, Any]) -> dict[str, Any]:
        session = await use(request, config_of(request))
        await session.clear()
        return describe(session)

    return [read, write, clear]


def send(
    client: TestClient[Any],
    path: str,
    *,
    method: str = "GET",
    cookie: str | bytes | None = None,
    headers: Mapping[str, str | bytes] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request whose only cookies are the explicit ``Cookie`` header (the jar is emptied)."""
    client.cookies.clear()
    raw: list[tuple[bytes, bytes]] = []
    for name, value in (headers or {}).items():
        raw.append((name.encode(), value if isinstance(value, bytes) else value.encode("utf-8")))
    if cookie is not None:
        raw.append((b"cookie", cookie if isinstance(cookie, bytes) else cookie.encode("utf-8")))
    return client.request(method, path, headers=raw, **kwargs)


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str | bool]]:
    """``(name, value, {attribute-lower: value or True})`` of one Set-Cookie header."""
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attrs: dict[str, str | bool] = {}
    for part in rest:
        key, sep, val = part.strip().partition("=")
        attrs[key.lower()] = val if sep else True
    return name.strip(), value.strip(), attrs


def cookie_names(response: httpx.Response) -> list[str]:
    return [parse_set_cookie(h)[0] for h in set_cookies(response)]


def cookie_header(response: httpx.Response) -> str:
    """A ``Cookie`` header replaying every non-empty cookie the response set (chunks included)."""
    pairs = [parse_set_cookie(h)[:2] for h in set_cookies(response)]
    return "; ".join(f"{n}={v}" for n, v in pairs if v)


def http_date(epoch_seconds: int) -> str:
    return formatdate(epoch_seconds, usegmt=True)


def assert_cleared(header: str, name: str, *, path: str = "/", flags: Sequence[str] = ("Secure",)) -> None:
    """``header`` expires cookie ``name``: empty value, epoch Expires, Max-Age (if any) 0."""
    got_name, value, attrs = parse_set_cookie(header)
    assert got_name == name, header
    assert value == "", header
    assert attrs.get("expires") == EPOCH, header
    assert attrs.get("max-age", "0") == "0", header
    assert attrs.get("path") == path, header
    for flag in flags:
        assert flag.lower() in attrs, header


# --------------------------------------------------------------------------- tokens


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def token_header(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split(".")[0]))  # type: ignore[no-any-return]


def jws_claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a compact JWS."""
    return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]


def joserfc_key(jwk: Mapping[str, Any] | str | bytes) -> Any:
    if isinstance(jwk, str | bytes):
        return OctKey.import_key(jwk)
    return _KEY_CLASSES[jwk["kty"]].import_key({k: v for k, v in jwk.items() if k not in ("key_ops", "ext")})


def _payload(payload: Mapping[str, Any] | bytes | str) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":")).encode()


def forge_jws(
    payload: Mapping[str, Any] | bytes | str,
    jwk: Mapping[str, Any],
    *,
    alg: str | None = None,
    **header: Any,
) -> str:
    """A compact JWS in unjwt's header shape; ``header`` overrides/extends it (``None`` drops)."""
    alg = alg or jwk["alg"]
    protected: dict[str, Any] = {"alg": alg, "typ": "JWT", "cty": "application/json"}
    if jwk.get("kid"):
        protected["kid"] = jwk["kid"]
    protected.update(header)
    protected = {k: v for k, v in protected.items() if v is not None}
    return jws.serialize_compact(protected, _payload(payload), joserfc_key(jwk), algorithms=[alg])


def forge_jwe(
    payload: Mapping[str, Any] | bytes | str,
    key: Mapping[str, Any] | str | bytes,
    *,
    alg: str | None = None,
    enc: str = "A128GCM",
    **header: Any,
) -> str:
    """A compact JWE in unjwt's header shape (``key``: a JWK, or raw bytes/password for dir/PBES2)."""
    if alg is None:
        assert not isinstance(key, str | bytes)
        alg = str(key["alg"])
    protected: dict[str, Any] = {"alg": alg, "enc": enc, "typ": "JWT", "cty": "application/json"}
    if not isinstance(key, str | bytes) and key.get("kid"):
        protected["kid"] = key["kid"]
    protected.update(header)
    protected = {k: v for k, v in protected.items() if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about p2c < 1000, which some tests want
        return jwe.encrypt_compact(protected, _payload(payload), joserfc_key(key), algorithms=[alg, enc])


def decrypt_jwe(token: str, jwk: Mapping[str, Any], *, alg: str, enc: str) -> tuple[dict[str, Any], Any]:
    """``(protected header, claims)`` of a JWE, decrypted with joserfc."""
    result = jwe.decrypt_compact(token, joserfc_key(jwk), algorithms=[alg, enc])
    assert result.plaintext is not None
    return dict(result.protected), json.loads(result.plaintext)


def flip(token: str, segment: int, position: int = 2) -> str:
    """``token`` with one bit flipped inside segment ``segment`` (decoded, then re-encoded)."""
    parts = token.split(".")
    raw = bytearray(b64url_decode(parts[segment]))
    raw[position] ^= 0x01
    parts[segment] = b64url(bytes(raw))
    return ".".join(parts)


def iter_chunks(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]
