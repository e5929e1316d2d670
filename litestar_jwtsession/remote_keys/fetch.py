"""One bounded HTTP GET of a JWK Set, and how long its answer may be kept.

The only module of the package that talks HTTP (with httpx, the ``remote`` extra). Every failure
leaves as a :class:`~litestar_jwtsession.SessionError` with a stable code: ``ERR_JWKS_TIMEOUT``
when the whole exchange (connection, headers and body) took longer than the timeout,
``ERR_JWKS_UNAVAILABLE`` for a network error or any answer but ``200``, ``ERR_JWKS_INVALID`` for
a body larger than the byte limit or a compressed one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from litestar_jwtsession.errors import ConfigurationError, ErrorCode, SessionError, safe_text

if TYPE_CHECKING:
    import ssl

    import httpx

__all__ = ("Fetched", "cache_lifetime", "fetch_jwk_set", "load_httpx")


def load_httpx() -> None:
    """Fail at configuration, not on the first request, when the ``remote`` extra is missing."""
    try:
        import httpx  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "RemoteJWKSet needs httpx: pip install 'litestar-jwtsession[remote]'"
        ) from exc


def tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context of every fetch; built once, at configuration, since
    loading the CA bundle takes milliseconds that a request's event loop should not spend."""
    import httpx

    return httpx.create_ssl_context()


@dataclass(frozen=True, slots=True)
class Fetched:
    """The body of a ``200`` answer and the headers that say how long it may be cached."""

    body: bytes
    cache_control: str | None
    age: str | None


async def fetch_jwk_set(
    url: str,
    *,
    time_limit: float,
    max_bytes: int,
    tls: ssl.SSLContext,
    client: httpx.AsyncClient | None = None,
) -> Fetched:
    """GET ``url``, bounded in time (``time_limit`` seconds for the whole exchange) and in size
    (``max_bytes`` of body, counted while streaming: the rest is never read).

    Without ``client``, a client is made for this one fetch: fetches are rare (once per cache
    lifetime), and a client kept across requests would be bound to one event loop.
    """
    import httpx

    try:
        async with asyncio.timeout(time_limit):
            if client is not None:
                return await _get(client, url, max_bytes)
            async with httpx.AsyncClient(
                timeout=time_limit, verify=tls, follow_redirects=False, http2=False
            ) as own:
                return await _get(own, url, max_bytes)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise SessionError(
            ErrorCode.JWKS_TIMEOUT, f"remote JWK Set: no complete answer within {time_limit:g} s"
        ) from exc
    except httpx.HTTPError as exc:
        raise SessionError(
            ErrorCode.JWKS_UNAVAILABLE, f"remote JWK Set unreachable ({type(exc).__name__}: {safe_text(exc)})"
        ) from exc


async def _get(client: httpx.AsyncClient, url: str, max_bytes: int) -> Fetched:
    # identity only: a compressed body's size says nothing about what it expands to
    headers = {"accept": "application/jwk-set+json, application/json", "accept-encoding": "identity"}
    async with client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            raise SessionError(
                ErrorCode.JWKS_UNAVAILABLE, f"remote JWK Set answered HTTP {response.status_code}"
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            raise SessionError(
                ErrorCode.JWKS_INVALID,
                f"remote JWK Set refused: compressed body ({safe_text(encoding, quote=True)})",
            )
        declared = response.headers.get("content-length")
        if declared is not None and (_number(declared) or 0) > max_bytes:
            raise _too_large(max_bytes)
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > max_bytes:
                raise _too_large(max_bytes)
        return Fetched(bytes(body), response.headers.get("cache-control"), response.headers.get("age"))


def _too_large(max_bytes: int) -> SessionError:
    return SessionError(ErrorCode.JWKS_INVALID, f"remote JWK Set refused: larger than {max_bytes} bytes")


def cache_lifetime(fetched: Fetched, *, default: int, floor: int, ceiling: int) -> int:
    """Seconds to keep a fetched set: ``Cache-Control: max-age`` less ``Age``, within
    ``[floor, ceiling]``; ``default`` without a ``max-age``; ``floor`` for ``no-store``/``no-cache``
    (a verifier cannot refetch for every token, so the floor is the most it can honour)."""
    lifetime: int | None = None
    for directive in (fetched.cache_control or "").lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-store", "no-cache"):
            return floor
        if name == "max-age" and lifetime is None:
            lifetime = _number(value.strip().strip('"'))
    if lifetime is None:
        return max(floor, min(default, ceiling))
    lifetime -= _number(fetched.age or "") or 0
    return max(floor, min(lifetime, ceiling))


def _number(text: str) -> int | None:
    """A header's non-negative decimal (delta-seconds, a length): ASCII digits only; an absurdly
    long one is not read (``None``), so that a header cannot make us convert 4000 digits."""
    text = text.strip()
    if not text or len(text) > 12 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
