"""Helpers shared by the upstream-port tests (cookie replay, fake clock, id counter, token forging).

Tokens for the "token from a header" and key-lookup scenarios are built with joserfc directly, in
unjwt's header shape ``{typ: "JWT", cty: "application/json", alg, enc?, kid?}``, so those tests do
not depend on the library's own seal/sign code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.jwe import JWERegistry
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx
    from litestar.testing import TestClient

__all__ = (
    "Counter",
    "FakeClock",
    "Flavor",
    "cookie_header",
    "cookie_names",
    "first_cookie",
    "seal_with_joserfc",
    "send",
    "set_cookies",
    "sign_with_joserfc",
)

_KEY_CLASSES: dict[str, Any] = {"oct": OctKey, "RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
# Members that only describe usage; joserfc does not need them to build a test token.
_DROP = frozenset({"key_ops", "ext", "use"})


class Counter:
    """``generate_id`` replacement: ``"1"``, ``"2"``, ... (upstream's ``String(++sessionIdCtr)``)."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> str:
        self.value += 1
        return str(self.value)


class FakeClock:
    """A mutable session clock in seconds, for the config's ``clock`` field."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Flavor:
    """One side (JWE or JWS) of the mirrored groups A and B."""

    kind: str  # "jwe" | "jws"
    name: str
    use: Callable[..., Any]
    update: Callable[..., Any]
    config: Any
    make: Callable[..., Any]  # builds a config like ``config`` with field overrides (upstream {...cfg, ...})
    forge: Callable[[dict[str, Any]], str]


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def _pair(set_cookie: str) -> tuple[str, str]:
    name, _, value = set_cookie.split(";", 1)[0].partition("=")
    return name.strip(), value.strip()


def cookie_names(response: httpx.Response) -> list[str]:
    """The cookie names of every Set-Cookie header (the text before the first ``=``)."""
    return [_pair(header)[0] for header in set_cookies(response)]


def first_cookie(response: httpx.Response) -> str:
    """``name=value`` of the first Set-Cookie header, as upstream replays it."""
    headers = set_cookies(response)
    assert headers, "expected a Set-Cookie header"
    name, value = _pair(headers[0])
    return f"{name}={value}"


def cookie_header(response: httpx.Response) -> str:
    """A ``Cookie`` header replaying every non-empty cookie the response set (chunks included)."""
    pairs = [_pair(header) for header in set_cookies(response)]
    return "; ".join(f"{name}={value}" for name, value in pairs if value)


def send(
    client: TestClient[Any],
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request whose only cookies are the explicit ``Cookie`` header (the jar is emptied first)."""
    client.cookies.clear()
    all_headers = dict(headers or {})
    if cookie is not None:
        all_headers["Cookie"] = cookie
    return client.request(method, path, headers=all_headers, **kwargs)


def _joserfc_key(jwk: Mapping[str, Any]) -> Any:
    return _KEY_CLASSES[jwk["kty"]].import_key({k: v for k, v in jwk.items() if k not in _DROP})


def _header(jwk: Mapping[str, Any], **extra: str) -> dict[str, Any]:
    header: dict[str, Any] = {"typ": "JWT", "cty": "application/json", "alg": jwk["alg"], **extra}
    if jwk.get("kid"):
        header["kid"] = jwk["kid"]
    return header


def seal_with_joserfc(claims: dict[str, Any], jwk: Mapping[str, Any], *, enc: str = "A128GCM") -> str:
    """unjwt's ``encrypt(claims, jwk)`` with core defaults: ``alg`` from the key, ``enc`` A128GCM."""
    registry = JWERegistry(algorithms=[jwk["alg"], enc])
    return jwt.encode(_header(jwk, enc=enc), claims, _joserfc_key(jwk), registry=registry)


def sign_with_joserfc(claims: dict[str, Any], private_jwk: Mapping[str, Any]) -> str:
    """unjwt's ``sign(claims, jwk)``: ``alg`` and ``kid`` from the key."""
    return jwt.encode(
        _header(private_jwk), claims, _joserfc_key(private_jwk), algorithms=[private_jwk["alg"]]
    )
