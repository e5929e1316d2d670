"""``RemoteJWKSet``: verify access sessions with the keys another service publishes.

It is a key source: passed as a :class:`~litestar_jwtsession.JWSSessionConfig`'s ``key`` (or
registered as its ``on_key_lookup`` hook), for each incoming token it answers the public key(s)
of the issuer's JWK Set that match the token's ``kid`` and ``alg``, or raises a
:class:`~litestar_jwtsession.SessionError`, which the session reports to ``on_error`` and reads
as anonymous (a guard answers 401).

How often it asks the issuer (every rule keeps a flood of hostile tokens from becoming a flood
of fetches):

- once, on the first token, then whenever the cached set has expired (``Cache-Control: max-age``
  within ``[cache_floor, cache_ceiling]``, ``cache_default`` without one);
- again before expiry only for a token whose ``kid`` the set does not hold (the issuer rotated
  its keys), and then at most once per ``refetch_interval``; a token whose ``alg`` is not allowed
  never causes a fetch;
- after a failed fetch, not before ``refetch_interval`` has passed: meanwhile every token that
  needs the set is refused at once with the failure's code;
- concurrent requests share one fetch in flight.

It fails closed: while the issuer cannot be reached (and the cached set has expired), tokens
read as anonymous. Keys are never made up from a token's header: a token only picks among keys
the issuer published.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from litestar_jwtsession.errors import ConfigurationError, ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose import JWK, KeyPair, generate_jwk, parse_duration
from litestar_jwtsession.remote_keys.fetch import cache_lifetime, fetch_jwk_set, load_httpx, tls_context
from litestar_jwtsession.remote_keys.jwk_set import ASYMMETRIC_JWS_ALGORITHMS, RemoteKeys, parse_jwk_set

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import httpx

    from litestar_jwtsession.jose import Duration

__all__ = ("RemoteJWKSet",)

# the placeholder key's algorithm, cheapest to generate first
_PLACEHOLDER_PREFERENCE = ("ES256", "EdDSA", "Ed25519", "ES384", "ES512")


class KeyLookupEvent(Protocol):
    """What :meth:`RemoteJWKSet.key_lookup` reads of a hook event
    (:class:`~litestar_jwtsession.HookEvent`)."""

    @property
    def header(self) -> Mapping[str, Any] | None: ...

    @property
    def config(self) -> Any: ...


class RemoteJWKSet:
    """The public keys of another service, fetched from its JWK Set URL and cached.

    .. code-block:: python

        issuer_keys = RemoteJWKSet("https://auth.example.com/.well-known/jwks.json")
        access = JWSSessionConfig(key=issuer_keys, name="access_token")

    Args:
        url: the JWK Set's ``https://`` URL; ``http://`` only for a loopback host (``localhost``,
            ``127.0.0.0/8``, ``::1``) or with ``allow_http=True``.
        algorithms: the token algorithms accepted (default: every asymmetric JWS algorithm;
            ``HS*`` is refused: a symmetric key cannot be published).
        timeout: seconds one fetch may take in all (connection, headers and body).
        max_bytes: the largest JWK Set body read; a larger one is refused.
        max_keys: the most keys a set may hold.
        cache_default: how long a set is kept when the answer has no ``max-age``.
        cache_floor: the shortest time a set is kept (also for ``no-store``, ``max-age=0``).
        cache_ceiling: the longest time a set is kept, whatever ``max-age`` says: the delay
            after which a key the issuer withdrew stops verifying here.
        refetch_interval: the least time between two fetches (unknown ``kid``, failures); at most
            ``cache_floor``.
        allow_http: accept an ``http://`` URL to a host that is not a loopback address.
        clock: monotonic seconds for the cache (tests pass a controllable one).
        client: an ``httpx.AsyncClient`` to fetch with (proxies, custom TLS); it must belong to
            the event loop the application runs on. Default: a client per fetch.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: Iterable[str] | None = None,
        timeout: float = 5.0,
        max_bytes: int = 65536,
        max_keys: int = 64,
        cache_default: Duration = "5m",
        cache_floor: Duration = "30s",
        cache_ceiling: Duration = "1h",
        refetch_interval: Duration = "30s",
        allow_http: bool = False,
        clock: Callable[[], float] = time.monotonic,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        load_httpx()
        self.url = _checked_url(url, allow_http=allow_http)
        self.algorithms = _checked_algorithms(algorithms)
        if not (isinstance(timeout, int | float) and 0 < timeout <= 300):
            raise ConfigurationError("RemoteJWKSet: timeout must be a number of seconds in (0, 300]")
        if type(max_bytes) is not int or max_bytes < 256:
            raise ConfigurationError("RemoteJWKSet: max_bytes must be an integer >= 256")
        if type(max_keys) is not int or max_keys < 1:
            raise ConfigurationError("RemoteJWKSet: max_keys must be a positive integer")
        self.timeout = float(timeout)
        self.max_bytes = max_bytes
        self.max_keys = max_keys
        try:
            self.cache_default = parse_duration(cache_default)
            self.cache_floor = parse_duration(cache_floor)
            self.cache_ceiling = parse_duration(cache_ceiling)
            self.refetch_interval = parse_duration(refetch_interval)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"RemoteJWKSet: {exc}") from exc
        if not 0 < self.refetch_interval <= self.cache_floor <= self.cache_ceiling:
            # a set is then always kept at least as long as the interval, so an expired set can
            # always be refetched, and no rule allows more than one fetch per interval
            raise ConfigurationError(
                "RemoteJWKSet: needs 0 < refetch_interval <= cache_floor <= cache_ceiling"
            )
        self._clock = clock
        self._client = client
        self._tls = tls_context()
        self._keys: RemoteKeys | None = None
        self._verify_only: dict[str, KeyPair] = {}
        self._expires = 0.0
        self._last_attempt: float | None = None
        self._failure: SessionError | None = None
        self._in_flight: asyncio.Task[RemoteKeys] | None = None

    def __repr__(self) -> str:
        return f"RemoteJWKSet({self.url!r})"

    # ------------------------------------------------------------------ wiring into a config

    def verify_only_key(self, alg: str | None = None) -> KeyPair:
        """A key for the ``key`` field of a verify-only ``JWSSessionConfig``: a fresh public key
        whose private half is thrown away, so it verifies nothing and signs nothing.

        A ``JWSSessionConfig`` needs a key of its own; with :meth:`key_lookup` registered, every
        token is verified with the issuer's keys instead. Pass the config's ``alg`` when it pins
        one. Never publish it (``jwks_route``): it is nobody's key.
        """
        if alg is None:
            alg = next((a for a in _PLACEHOLDER_PREFERENCE if a in self.algorithms), min(self.algorithms))
        if alg not in ASYMMETRIC_JWS_ALGORITHMS:
            raise ConfigurationError(f"RemoteJWKSet: {alg!r} is not an asymmetric JWS algorithm")
        key = self._verify_only.get(alg)
        if key is None:  # one per algorithm: generating an RSA pair takes a while
            pair = generate_jwk(alg, kid="remote-jwks-verify-only")
            assert isinstance(pair, KeyPair)  # every asymmetric algorithm generates a pair
            key = self._verify_only[alg] = KeyPair(public_key=pair.public_key)
        return key

    async def key_lookup(self, event: KeyLookupEvent) -> list[JWK]:
        """The ``on_key_lookup`` hook: the issuer's public key(s) for this token's ``kid`` and
        ``alg``. Raises ``SessionError`` when there is none (see the module for the codes)."""
        if getattr(event.config, "kind", "jws") != "jws":
            raise SessionError(ErrorCode.KEY_LOOKUP_FAILED, "RemoteJWKSet verifies JWS sessions only")
        header = event.header or {}
        alg, kid = header.get("alg"), header.get("kid")
        pinned = getattr(event.config, "alg", None)
        if not isinstance(alg, str) or alg not in self.algorithms or (pinned is not None and alg != pinned):
            raise SessionError(
                ErrorCode.JWS_ALG_NOT_ALLOWED, f"JWS algorithm {safe_text(alg, quote=True)} is not allowed"
            )
        if kid is not None and not isinstance(kid, str):
            raise SessionError(ErrorCode.JWS_INVALID, 'Invalid JWS: "kid" must be a string')
        keys = await self._current()
        found = keys.matching(kid, alg)
        if not found and kid is not None and (self._in_flight is not None or self._may_fetch()):
            # the issuer may have rotated: look once more, at most once per refetch_interval
            keys = await self._fetch()
            found = keys.matching(kid, alg)
        if not found:
            which = "no kid" if kid is None else f"kid {safe_text(kid, quote=True)}"
            raise SessionError(
                ErrorCode.JWKS_NO_MATCHING_KEY,
                f"the remote JWK Set has no {safe_text(alg)} key for a token with {which}",
            )
        return found

    async def refresh(self) -> None:
        """Fetch the set now (joining a fetch in flight), e.g. at application start-up so that
        the first request does not wait; raises ``SessionError`` if it cannot be fetched."""
        await self._fetch()

    # ------------------------------------------------------------------ the cache

    async def _current(self) -> RemoteKeys:
        """The cached set while it is fresh, else a fetched one (or the last failure, refused)."""
        keys = self._keys
        if keys is not None and self._clock() < self._expires:
            return keys
        if self._in_flight is not None or self._may_fetch():
            return await self._fetch()
        failure = self._failure
        if failure is not None:
            # a fresh exception each time: re-raising one instance would grow its traceback
            raise SessionError(failure.code, f"{failure.message} (not retried before the refetch interval)")
        raise SessionError(ErrorCode.JWKS_UNAVAILABLE, "remote JWK Set not fetched yet")

    def _may_fetch(self) -> bool:
        last = self._last_attempt
        return last is None or self._clock() - last >= self.refetch_interval

    async def _fetch(self) -> RemoteKeys:
        """Join the fetch in flight, or start one that every request can join. A request that is
        cancelled (its client went away) leaves the fetch running for the others."""
        loop = asyncio.get_running_loop()
        task = self._in_flight
        if task is None or task.get_loop() is not loop:
            self._last_attempt = self._clock()
            task = loop.create_task(self._fetch_and_keep(), name=f"fetch {self.url}")
            self._in_flight = task
            task.add_done_callback(self._fetch_done)
        return await asyncio.shield(task)

    def _fetch_done(self, task: asyncio.Task[RemoteKeys]) -> None:
        if self._in_flight is task:
            self._in_flight = None
        if not task.cancelled():
            task.exception()  # retrieved here: no "exception never retrieved" if nobody waits

    async def _fetch_and_keep(self) -> RemoteKeys:
        try:
            fetched = await fetch_jwk_set(
                self.url,
                time_limit=self.timeout,
                max_bytes=self.max_bytes,
                tls=self._tls,
                client=self._client,
            )
            keys = parse_jwk_set(fetched.body, algorithms=self.algorithms, max_keys=self.max_keys)
        except Exception as exc:  # anything unforeseen fails closed too, with a stable code
            code, message = (
                (exc.code, exc.message)
                if isinstance(exc, SessionError)
                else (ErrorCode.JWKS_UNAVAILABLE, f"remote JWK Set fetch failed: {safe_text(exc)}")
            )
            failure = SessionError(code, f"{message} (from {self.url})")  # which issuer, for operators
            self._failure = failure
            raise failure from exc
        lifetime = cache_lifetime(
            fetched, default=self.cache_default, floor=self.cache_floor, ceiling=self.cache_ceiling
        )
        self._keys, self._expires, self._failure = keys, self._clock() + lifetime, None
        return keys


def _checked_url(url: str, *, allow_http: bool) -> str:
    if not isinstance(url, str):
        raise ConfigurationError("RemoteJWKSet: url must be a string")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ConfigurationError(f"RemoteJWKSet: unusable url {url!r}: {exc}") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(f"RemoteJWKSet: url must be an https:// URL, got {url!r}")
    if parts.scheme == "http" and not (allow_http or _is_loopback(host)):
        raise ConfigurationError(
            f"RemoteJWKSet: refusing plain http to {host!r}: anyone on the path could swap the keys; "
            "use https (http is accepted for loopback hosts, or with allow_http=True)"
        )
    if parts.username is not None or parts.password is not None:
        # they would show wherever the url does (repr, logs)
        raise ConfigurationError("RemoteJWKSet: no credentials in the url; pass a client= with auth")
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_algorithms(algorithms: Iterable[str] | None) -> frozenset[str]:
    if algorithms is None:
        return ASYMMETRIC_JWS_ALGORITHMS
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    chosen = frozenset(algorithms)
    refused = chosen - ASYMMETRIC_JWS_ALGORITHMS
    if refused or not chosen:
        raise ConfigurationError(
            f"RemoteJWKSet: algorithms must be asymmetric JWS algorithms "
            f"({', '.join(sorted(ASYMMETRIC_JWS_ALGORITHMS))}); refused: {sorted(refused) or 'none given'}"
        )
    return chosen
