"""Session configs: what a session is called, how it is keyed, where it travels, how long it lives.

One base dataclass holds every shared field; :class:`JWSSessionConfig` and
:class:`JWESessionConfig` only add what differs (key kinds, JWE ciphers, PBES2 counts) and build
their token codec. Everything expensive (key import, registry construction) happens once, in
``__post_init__``.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast

import msgspec

from litestar_jwtsession.errors import ConfigurationError, ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose.claims import ClaimRules
from litestar_jwtsession.jose.durations import Duration, parse_duration
from litestar_jwtsession.jose.jwe import JWECodec
from litestar_jwtsession.jose.jws import JWSCodec
from litestar_jwtsession.jose.keys import JWK, KeyPair
from litestar_jwtsession.jose.password_checks import warn_about_password_key
from litestar_jwtsession.session.cookies import CookieOptions, CookieSpec
from litestar_jwtsession.session.csrf import derive_csrf_secret
from litestar_jwtsession.session.hooks import SessionHooks
from litestar_jwtsession.session.key_source import KeySource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


__all__ = ("CookieOptions", "JWESessionConfig", "JWSSessionConfig", "SessionConfig")

ClaimsT = TypeVar("ClaimsT")

# RFC 9110/6265 token characters: what a header or cookie name may consist of
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_RESERVED_DEPENDENCY_KEYS = frozenset(
    {"state", "headers", "cookies", "request", "socket", "data", "query", "scope", "body"}
)


@dataclass
class SessionConfig(Generic[ClaimsT]):
    """Fields shared by JWS and JWE sessions. Use a subclass."""

    kind: ClassVar[Literal["jws", "jwe"]]
    codec_fields: ClassVar[tuple[str, ...]] = ("alg",)
    """The fields passed on to the codec under the same names."""
    default_name: ClassVar[str]
    default_httponly: ClassVar[bool]

    key: Any
    """The session key; see the subclass."""
    name: str = ""
    """Cookie name and default header stem (empty: the kind's default name)."""
    max_age: Duration | None = None
    """Lifetime: seconds, a ``timedelta`` or unjwt's duration string (``"15m"``, ``"7D"``). Sets
    ``exp`` and the cookie's ``Expires``; enforced on read even for a token without ``exp``."""
    cookie: CookieOptions | bool = True
    """Cookie attributes, ``True`` for the defaults, or ``False`` to disable cookies."""
    session_header: str | Literal[False] | None = None
    """Request header carrying a token (a ``"Bearer "`` prefix is stripped). ``None``: ``x-<name>-session``;
    ``False``: headers are not read."""
    generate_id: Callable[[], str | None] | None = None
    """Returns the next ``jti``; an empty result falls back to a UUID4."""
    hooks: SessionHooks = field(default_factory=SessionHooks)
    """Lifecycle hooks; register on it directly (``config.hooks.on_read(fn)``)."""
    claims: type[ClaimsT] | None = None
    """A ``msgspec.Struct`` type for the payload; ``session.claims`` is then an instance of it."""
    alg: str | None = None
    """Pin the JWS algorithm / JWE key-management algorithm (default: derived from the key)."""
    typ: str = "JWT"
    """The protected header's ``typ``: written, and required on read (exact match)."""
    issuer: str | tuple[str, ...] | None = None
    """Expected ``iss`` (one of); not written automatically."""
    audience: str | tuple[str, ...] | None = None
    """Expected ``aud`` (any overlap); not written automatically."""
    subject: str | None = None
    """Expected ``sub``."""
    leeway: int = 0
    """Clock tolerance in seconds for ``exp``/``nbf``/``iat``."""
    required_claims: tuple[str, ...] = ()
    """Claims that must be present besides ``jti`` and ``iat``."""
    max_token_size: int = 65536
    """Longest token accepted on read, in characters (checked before any decoding)."""
    token_cache_size: int = 4096
    """How many verified tokens to remember so a token seen before skips the cryptography (its
    claims are still checked on every read); ``0`` disables the cache."""
    clock: Callable[[], float] = time.time
    """The session clock, seconds since the epoch (tests inject a fake one)."""
    dependency_key: str | None = None
    """Handler parameter name this session is injected under (default: derived from ``name``)."""
    csrf: bool = False
    """Require a CSRF token on unsafe requests (not ``GET``/``HEAD``/``OPTIONS``/``TRACE``) whose
    session arrived in a cookie: header ``csrf_header`` must equal ``session.csrf_token``, which is
    also written to the readable cookie ``<name>-csrf``. Off by default (opt in here or with
    ``JWTSessionPlugin(csrf=True)``); a session sent in the session header is always exempt. See
    :mod:`litestar_jwtsession.session.csrf` for the threat model."""
    csrf_secret: bytes | None = None
    """HMAC secret of the CSRF tokens; default: derived from ``key`` (same key, same secret)."""
    csrf_header: str = "x-csrf-token"
    """Request header carrying the CSRF token."""
    slide_after: float | None = None
    """Sliding expiry: a session whose cookie is read after this fraction of its token's lifetime
    (``0 < slide_after < 1``; needs ``max_age``) is re-issued on that response with a new ``jti``
    and a fresh ``exp`` (within the plugin's ``absolute_lifetime``); an ``on_slide`` hook may veto
    it. ``None`` (default): sessions do not slide. A token before that point costs nothing more to
    read: the verified-token cache vouches for it only until then."""

    # derived in __post_init__
    max_age_seconds: int | None = field(init=False, repr=False, default=None)
    cookie_spec: CookieSpec | None = field(init=False, repr=False, default=None)
    header_name: str | None = field(init=False, repr=False, default=None)
    header_key: bytes | None = field(init=False, repr=False, default=None)
    """``header_name`` as the bytes of an ASGI header name."""
    injection_key: str = field(init=False, repr=False, default="")
    """The handler parameter name the plugin injects this session under (``dependency_key`` or
    derived from ``name``)."""
    codec: JWSCodec | JWECodec = field(init=False, repr=False, compare=False)
    csrf_requested: bool = field(init=False, repr=False, default=False)
    """Whether ``csrf=True`` was asked for, even where this config has no cookie to protect (and
    so turned ``csrf`` off): the plugin then still protects the refresh cookie behind it."""
    _csrf_key: bytes | None = field(init=False, repr=False, compare=False, default=None)
    key_source: KeySource | None = field(init=False, repr=False, default=None)
    """The key source every token is verified with: ``key`` when it is one (e.g. a
    :class:`~litestar_jwtsession.RemoteJWKSet`); such a config verifies and cannot sign."""
    csrf_cookie_name: str = field(init=False, repr=False, default="")
    """Name of the readable cookie carrying the CSRF token: ``<name>-csrf``."""

    def __post_init__(self) -> None:
        # (checked once: a runtime-checkable Protocol's isinstance() is slow, and reads ask often)
        self.key_source = self.key if isinstance(self.key, KeySource) else None
        if not self.name:
            self.name = self.default_name
        if not _TOKEN.fullmatch(self.name):
            raise ConfigurationError(
                f"session name {self.name!r} is not a valid cookie name (RFC 6265 token characters)"
            )
        try:
            self.max_age_seconds = None if self.max_age is None else parse_duration(self.max_age)
        except TypeError as exc:
            raise ConfigurationError(f"{self.name}: max_age: {exc}") from exc
        if self.cookie is not False:
            options = CookieOptions() if self.cookie is True else self.cookie
            if not isinstance(options, CookieOptions):
                raise ConfigurationError("cookie must be CookieOptions, True or False")
            httponly = self.default_httponly if options.httponly is None else options.httponly
            self.cookie_spec = CookieSpec.from_options(self.name, options, httponly=httponly)
        if self.session_header is not False:
            self.header_name = (self.session_header or f"x-{self.name}-session").lower()
            if not _TOKEN.fullmatch(self.header_name):
                raise ConfigurationError(
                    f"{self.name}: session_header {self.header_name!r} is not a valid header name"
                )
            self.header_key = self.header_name.encode("ascii")
        if self.cookie_spec is None and self.header_name is None:
            raise ConfigurationError(f"{self.name}: cookie and session_header cannot both be off")
        if self.claims is not None and not (
            isinstance(self.claims, type) and issubclass(self.claims, msgspec.Struct)
        ):
            raise ConfigurationError(f"{self.name}: claims must be a msgspec.Struct subclass")
        if self.leeway < 0 or self.max_token_size < 16:
            raise ConfigurationError(f"{self.name}: leeway must be >= 0 and max_token_size >= 16")
        self._check_slide_after()
        # kept apart from ``dependency_key`` so ``dataclasses.replace(config, name=...)`` derives anew
        self.injection_key = self.dependency_key or re.sub(r"\W", "_", self.name, flags=re.ASCII)
        if not self.injection_key.isidentifier() or self.injection_key in _RESERVED_DEPENDENCY_KEYS:
            raise ConfigurationError(
                f"{self.name}: dependency key {self.injection_key!r} is not usable as a handler parameter"
            )
        try:
            self.codec = self._build_codec(self._claim_rules())
        except ValueError as exc:
            raise ConfigurationError(f"{self.name}: {exc}") from exc
        self._init_csrf()

    def _check_slide_after(self) -> None:
        fraction = self.slide_after
        if fraction is None:
            return
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
            raise ConfigurationError(
                f"{self.name}: slide_after must be a fraction of the lifetime, 0 < f < 1"
            )
        if self.max_age_seconds is None:
            raise ConfigurationError(
                f"{self.name}: slide_after needs max_age (a session without one never expires)"
            )

    def _init_csrf(self) -> None:
        self.csrf_cookie_name = f"{self.name}-csrf"
        if not self.csrf_header or not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", self.csrf_header):
            raise ConfigurationError(f"{self.name}: csrf_header must be a header name")
        self.csrf_header = self.csrf_header.lower()
        if self.csrf_secret is not None:
            if not isinstance(self.csrf_secret, bytes) or len(self.csrf_secret) < 16:
                raise ConfigurationError(f"{self.name}: csrf_secret must be at least 16 bytes")
            self._csrf_key = self.csrf_secret
        self.csrf_requested = self.csrf
        if self.csrf and self.cookie_spec is None:
            self.csrf = False  # nothing to protect here: header-borne sessions are exempt
        self.check_csrf_secret()

    @property
    def csrf_key(self) -> bytes:
        """The CSRF HMAC secret in use: ``csrf_secret``, or derived from ``key`` on first use (a
        password key goes through PBKDF2, which is why this is not done for configs without CSRF);
        empty when the key holds nothing secret."""
        key = self._csrf_key
        if key is None:
            source = None if self.key_source is not None else self.key  # a key source holds no secret
            key = self._csrf_key = derive_csrf_secret(source, self.name, self._password_iterations) or b""
        return key

    @property
    def _password_iterations(self) -> int:
        """The PBKDF2 count a password key is stretched with (its PBES2 count; JWE only)."""
        return 0

    def check_csrf_secret(self, enabled: bool | None = None) -> None:
        """Refuse CSRF protection without a secret (a public-only key pair and no ``csrf_secret``).
        ``enabled``: whether the protection is on (default: this config's ``csrf``; a plugin
        passes what it decided for its app)."""
        if (self.csrf if enabled is None else enabled) and not self.csrf_key:
            raise ConfigurationError(
                f"{self.name}: CSRF protection needs csrf_secret: a public-only KeyPair holds nothing secret"
            )

    def _claim_rules(self) -> ClaimRules:
        return ClaimRules(
            typ=self.typ,
            required=tuple(dict.fromkeys(("jti", "iat", *self.required_claims))),
            issuer=self.issuer,
            audience=self.audience,
            subject=self.subject,
            leeway=self.leeway,
            max_token_age=self.max_age_seconds,
            slide_after=self.slide_after,
        )

    def _build_codec(self, rules: ClaimRules) -> JWSCodec | JWECodec:
        raise NotImplementedError

    def _codec_options(self, rules: ClaimRules) -> dict[str, Any]:
        """What the codec takes from this config: the fields it names alike
        (``codec_fields``), the claim rules and the size limits."""
        options: dict[str, Any] = {name: getattr(self, name) for name in self.codec_fields}
        options.update(rules=rules, max_token_size=self.max_token_size, cache_size=self.token_cache_size)
        return options

    def encode_token(self, claims: dict[str, Any]) -> str:
        """Sign (JWS) or seal (JWE) ``claims`` into a compact token; ``ERR_SESSION_SEAL_FAILED``
        when they cannot be."""
        with _sealing(self):
            return self._encode(claims)

    async def encode_token_async(self, claims: dict[str, Any]) -> str:
        """:meth:`encode_token` for event loops: a password's PBES2 key is derived off the loop."""
        with _sealing(self):
            return await self._encode_async(claims)

    def _encode(self, claims: dict[str, Any]) -> str:
        raise NotImplementedError

    async def _encode_async(self, claims: dict[str, Any]) -> str:
        return self._encode(claims)

    @property
    def cookies_enabled(self) -> bool:
        return self.cookie_spec is not None


@dataclass
class JWSSessionConfig(SessionConfig[ClaimsT]):
    """A signed session: client-readable claims, tamper-proof (e.g. the access session).

    ``key`` is an oct JWK (``HS256/384/512``) or a :class:`KeyPair` whose private key signs and whose
    public key(s) verify (a JWK, a list, or a JWK Set for rotation).
    """

    kind: ClassVar[Literal["jws", "jwe"]] = "jws"
    default_name: ClassVar[str] = "litestar-jws"
    default_httponly: ClassVar[bool] = False

    def _build_codec(self, rules: ClaimRules) -> JWSCodec:
        if isinstance(self.key, str):
            raise ValueError("a JWS session needs an oct JWK or a KeyPair; password strings are JWE-only")
        key = self.key_source.verify_only_key(self.alg) if self.key_source else _check_key(self.key)
        return JWSCodec(key, **self._codec_options(rules))

    def _encode(self, claims: dict[str, Any]) -> str:
        return cast("JWSCodec", self.codec).sign(claims)


@dataclass
class JWESessionConfig(SessionConfig[ClaimsT]):
    """An encrypted session: opaque to the client (e.g. the refresh session).

    ``key`` is a password ``str`` (PBES2), an oct JWK (``A*KW``, ``A*GCMKW``, or a content cipher used
    with ``dir``) or a :class:`KeyPair` (RSA-OAEP, ECDH-ES); a pair holding only the private key works.
    """

    kind: ClassVar[Literal["jws", "jwe"]] = "jwe"
    codec_fields: ClassVar[tuple[str, ...]] = (
        "alg",
        "enc",
        "pbes2_iterations",
        "pbes2_iterations_range",
        "pbes2_workers",
        "pbes2_queue",
    )
    default_name: ClassVar[str] = "litestar-jwe"
    default_httponly: ClassVar[bool] = True

    enc: str | None = None
    """Pin the content cipher (default on write: the key's cipher, else ``A128GCM`` as unjwt)."""
    pbes2_iterations: int = 600_000
    """PBES2 count (``p2c``) written for password keys; unjwt's default."""
    pbes2_iterations_range: tuple[int, int] | None = None
    """Inclusive range of ``p2c`` accepted on read; default: exactly ``pbes2_iterations``."""
    pbes2_workers: int = 2
    """Threads deriving PBES2 keys for this config (password keys only), so PBKDF2 never runs on
    the event loop."""
    pbes2_queue: int = 2
    """Derivations that may wait for a worker. Past ``pbes2_workers + pbes2_queue``, a token that
    needs a new derivation reads as anonymous for that request (``on_error`` with
    ``ERR_JWE_DERIVATION_BUSY``) and its cookie is kept; sealing is never refused."""

    @property
    def _password_iterations(self) -> int:
        return self.pbes2_iterations

    def _build_codec(self, rules: ClaimRules) -> JWECodec:
        if isinstance(self.key, str) and not self.key:
            raise ValueError("the JWE password must not be empty")
        if self.pbes2_iterations < 1:
            raise ValueError("pbes2_iterations must be >= 1")
        key = self.key if isinstance(self.key, str) else _check_key(self.key)
        warn_about_password_key(key, name=self.name)
        return JWECodec(key, **self._codec_options(rules))

    def _encode(self, claims: dict[str, Any]) -> str:
        return cast("JWECodec", self.codec).seal(claims)

    async def _encode_async(self, claims: dict[str, Any]) -> str:
        return await cast("JWECodec", self.codec).seal_async(claims)


@contextmanager
def _sealing(config: SessionConfig[Any]) -> Iterator[None]:
    """Report any failure to encode a session token as ``ERR_SESSION_SEAL_FAILED`` (the codec's
    own code is a JOSE one); other session errors pass unchanged."""
    try:
        yield
    except SessionError as exc:
        if exc.code is not ErrorCode.TOKEN_ENCODE_FAILED:
            raise
        raise seal_failed(config, exc.message) from exc
    except Exception as exc:
        raise seal_failed(config, safe_text(exc)) from exc


def seal_failed(config: SessionConfig[Any], reason: str) -> SessionError:
    """``ERR_SESSION_SEAL_FAILED`` for ``config``: a token of it could not be written (``reason``
    already escaped)."""
    return SessionError(
        ErrorCode.SESSION_SEAL_FAILED, f"session {config.name!r} could not be sealed: {reason}"
    )


def _check_key(key: Any) -> JWK | KeyPair:
    if isinstance(key, KeyPair):
        return key
    if isinstance(key, dict) and isinstance(key.get("kty"), str):
        return key
    raise ValueError(f"key must be a JWK dict or a KeyPair, got {type(key).__name__}")
