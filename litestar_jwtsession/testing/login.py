"""Log a test client in as given claims, without going through a login route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, SessionError
from litestar_jwtsession.testing._app import AnyConfig, app_sessions
from litestar_jwtsession.testing._set_cookie import chunk_index

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("IssuedSession", "log_in", "log_out")


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """What :func:`log_in` gave the client."""

    name: str
    """The session's name (its cookie name)."""
    token: str
    """The compact token, signed or sealed with the session's own key."""
    claims: dict[str, Any] = field(repr=False)
    """Every claim of the token: the data plus ``jti``, ``iat`` and ``exp`` (with ``max_age``)."""
    via: Literal["cookie", "header"] = "cookie"
    """Where the client now carries it."""
    csrf_token: str | None = None
    """The value of its readable ``<name>-csrf`` cookie when the app protects it against CSRF."""

    @property
    def id(self) -> str:
        """The session id (``jti``), as the app will see it in ``session.id``."""
        return str(self.claims["jti"])

    @property
    def expires_at(self) -> int | None:
        """``exp`` in milliseconds since the epoch, as the app's ``session.expires_at``."""
        exp = self.claims.get("exp")
        return None if exp is None else int(exp) * 1000


def log_in(
    client: httpx.Client | httpx.AsyncClient,
    claims: Mapping[str, Any] | msgspec.Struct,
    *,
    session: str | JWSSessionConfig[Any] | JWESessionConfig[Any] | None = None,
    via: Literal["cookie", "header"] | None = None,
) -> IssuedSession:
    """Give ``client`` a valid session carrying ``claims``, as if a login route had issued it.

    ``client`` is a Litestar ``TestClient`` or ``AsyncTestClient`` of an app with a
    ``JWTSessionPlugin``; ``session`` picks one of its sessions by name or config (default: the
    access session). The token is minted as ``session.update(claims, replace=True)`` would mint it
    (a fresh ``jti``, ``iat`` from the config's clock, ``exp`` one ``max_age`` later; ``jti``,
    ``iat`` and ``exp`` keys of ``claims`` are ignored) and signed or sealed with the config's own
    key. Claims the config would refuse on read (issuer, audience, subject, required or typed
    claims) raise ``ValueError`` here instead of a 401 later.

    The token goes where the app reads it: the session cookie, chunked and with the attributes the
    library writes (the client's base URL must be ``https://`` for the default ``Secure`` cookies,
    e.g. ``TestClient(app, base_url="https://testserver.local")``), plus its readable CSRF
    companion cookie when the app protects that session; or the session header
    (``via="header"``, the default for sessions without cookies), set on ``client.headers``.
    Whatever the client held for that session before is replaced.
    """
    sessions = app_sessions(client)
    config = sessions.config(session)
    via = via or ("cookie" if config.cookie_spec is not None else "header")
    if via == "cookie" and config.cookie_spec is None:
        raise ValueError(f"session {config.name!r} has no cookie (cookie=False): use via='header'")
    if via == "header" and config.header_name is None:
        raise ValueError(f"session {config.name!r} reads no header (session_header=False): use via='cookie'")
    data = msgspec.to_builtins(claims) if isinstance(claims, msgspec.Struct) else claims
    try:
        minted = sessions.mint(config, data)
    except SessionError as exc:
        raise ValueError(f"session {config.name!r} would refuse these claims: {exc.message}") from exc
    try:
        token = config.encode_token(minted)
    except SessionError as exc:
        raise ValueError(f"session {config.name!r}: {exc.message}") from exc
    _forget(client, config)
    if via == "header":
        header = config.header_name
        assert header is not None
        client.headers[header] = f"Bearer {token}" if header == "authorization" else token
        return IssuedSession(config.name, token, minted, via="header")
    csrf = sessions.csrf_token(config, minted["jti"]) if sessions.csrf_on(config) else None
    _store_cookies(client, config, token, minted, csrf)
    return IssuedSession(config.name, token, minted, via="cookie", csrf_token=csrf)


def log_out(
    client: httpx.Client | httpx.AsyncClient,
    *,
    session: str | JWSSessionConfig[Any] | JWESessionConfig[Any] | None = None,
) -> None:
    """Remove what ``client`` holds of one session (default: the access session): its cookie and
    chunks, its CSRF companion and its header. The app is not told; use its logout route to test
    revocation."""
    _forget(client, app_sessions(client).config(session))


def _store_cookies(
    client: httpx.Client | httpx.AsyncClient,
    config: AnyConfig,
    token: str,
    claims: Mapping[str, Any],
    csrf: str | None,
) -> None:
    """Put the Set-Cookie values the library writes for ``token`` into the client's jar, as if a
    response of the app had carried them."""
    spec = config.cookie_spec
    assert spec is not None
    spec.check_fits(token)
    expires = claims.get("exp")  # the session cookie lapses with its token (Session.cookie_expires)
    lines = spec.render_set(token, expires=expires, previous_chunks=0)
    if csrf is not None:
        lines.append(spec.render_companion(config.csrf_cookie_name, csrf, expires))
    url = client.base_url
    if "; Secure" in lines[0] and url.scheme != "https":
        raise ValueError(
            f"session {config.name!r} has Secure cookies, which the client never sends to {url}: "
            'give it an https base URL, e.g. TestClient(app, base_url="https://testserver.local")'
        )
    response = httpx.Response(
        200, headers=[("set-cookie", line) for line in lines], request=httpx.Request("GET", url)
    )
    client.cookies.extract_cookies(response)
    if not any(cookie.name == config.name for cookie in client.cookies.jar):
        raise ValueError(
            f"the client's cookie jar refused the cookie of session {config.name!r} "
            f"({lines[0].split(';', 1)[1].strip()}) for {url}: does its Domain match the base URL's host?"
        )


def _forget(client: httpx.Client | httpx.AsyncClient, config: AnyConfig) -> None:
    jar = client.cookies.jar
    companion = config.csrf_cookie_name
    for cookie in list(jar):
        name = cookie.name
        if name in (config.name, companion) or chunk_index(name, config.name) is not None:
            jar.clear(cookie.domain, cookie.path, name)
    if config.header_name is not None:
        client.headers.pop(config.header_name, None)
