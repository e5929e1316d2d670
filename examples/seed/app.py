"""The seed example: a short-lived JWS access session re-issued from a long-lived JWE refresh session.

A port of the h3 v2 playground of unjwt (its "refresh token pattern") to Litestar that answers as
the original does: the same statuses, JSON bodies and cookies (checked against the original
running on Node in ``tests/interop/test_seed_parity.py``). The routes:

- ``POST /login``: a caller who already has a valid access session gets both sessions back;
  anyone else must send JSON ``{"username": ..., "password": ...}`` and both sessions are created.
  Either way the answer is 200 with ``{"accessToken": {...}, "refreshSession": {...}}`` (each
  ``id``, ``createdAt``, ``expiresAt`` in milliseconds, ``data``; a session that does not exist has
  no ``id``). Without credentials: 400 ``{"status": 400, "message": "Username and password are
  required"}``. Credentials are not checked against anything: this is a demo.
- ``GET /profile``: ``{"userId": ..., "scope": [...]}`` from the access session; 401
  ``{"status": 401, "message": "Not authenticated"}`` without one.
- ``POST /logout``: clears both sessions, ``{"ok": true}``.
- When an expired access token arrives, the access config's ``on_expire`` hook re-issues it from
  the refresh session, as the upstream example does. Like the original, nothing else does: the
  plugin's refresh fallback is off here, so a caller whose client dropped the expired access cookie
  logs in again (``examples/spa`` and ``examples/scopes_api`` show the fallback).

The routes ``/profile`` and ``/logout`` are those of unjwt's documentation page for the pattern;
the playground itself has only ``/login``. Errors use h3's JSON shape ``{"status", "message"}``.
Cookies carry h3's attributes: ``Path=/``, ``Expires``, ``Secure``, ``HttpOnly`` on the refresh
cookie, no ``SameSite``.

Run it with ``make run`` (uvicorn serving ``examples.seed.app:app`` on http://127.0.0.1:8000; it
prints the routes to try), e.g.::

    curl -i -c jar -b jar -X POST http://127.0.0.1:8000/login \\
        -H 'content-type: application/json' -d '{"username": "alice", "password": "secret"}'

The cookies are ``Secure`` (the library's default). Browsers treat ``http://127.0.0.1`` and
``http://localhost`` as secure, so the demo works there without TLS; curl sends them back over
plain HTTP to 127.0.0.1 too.

Keys
----
The access session is signed with an RS256 key pair, the refresh session is encrypted with a
password (PBES2, 600000 iterations by default). Each is taken from the first of:

1. the arguments of :func:`create_app` (``access_key``, ``refresh_password``);
2. environment variables:

   - ``JWTSESSION_ACCESS_PRIVATE_JWK``: the private RS256 JWK, as JSON;
   - ``JWTSESSION_ACCESS_PUBLIC_JWK``: the public JWK (or a JWK Set) as JSON; optional, derived from
     the private key when missing;
   - ``JWTSESSION_REFRESH_PASSWORD``: the refresh session's password;

3. a development key file, generated on first start (``generate_jwk("RS256")`` and a random
   password) and reused afterwards, so restarting the server keeps sessions valid. It is
   ``.dev-keys.json`` next to this file (git-ignored), or the path in ``JWTSESSION_DEV_KEYS``,
   written with permissions 0600. Never use it in production.

The module-level ``app`` is built on first access (``from examples.seed.app import app``, as uvicorn
does), so importing this module for :func:`create_app` writes no key file.
"""

import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
)
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from litestar_jwtsession import (
    CookieOptions,
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    generate_jwk,
    get_jwe_session,
    update_jws_session,
    use_jwe_session,
    use_jws_session,
)

__all__ = ("DevKeys", "create_app", "load_keys", "session_configs")

logger = logging.getLogger(__name__)

ACCESS_PRIVATE_ENV = "JWTSESSION_ACCESS_PRIVATE_JWK"
ACCESS_PUBLIC_ENV = "JWTSESSION_ACCESS_PUBLIC_JWK"
REFRESH_PASSWORD_ENV = "JWTSESSION_REFRESH_PASSWORD"
DEV_KEYS_ENV = "JWTSESSION_DEV_KEYS"
DEFAULT_DEV_KEYS_PATH = Path(__file__).with_name(".dev-keys.json")

ACCESS_ALG = "RS256"
ACCESS_SESSION = "access_token"
REFRESH_SESSION = "refresh_token"
DEFAULT_SCOPES = ("read:profile",)
CREDENTIALS_REQUIRED = "Username and password are required"
NOT_AUTHENTICATED = "Not authenticated"
# h3's cookie attributes: Path=/, Expires, Secure (HttpOnly on the JWE refresh cookie), no SameSite
H3_COOKIE = CookieOptions(samesite=None)

# Members of an RSA/EC/OKP JWK that belong to the private half only.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


@dataclass(frozen=True)
class DevKeys:
    """The keys of the example: an RS256 pair for the access session, a password for the refresh one."""

    access_key: KeyPair
    refresh_password: str


# --------------------------------------------------------------------------------------------------
# keys


def _public_half(private_jwk: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in private_jwk.items() if k not in _PRIVATE_MEMBERS}


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RuntimeError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise RuntimeError(f"{what} must be a JSON object")
    return value


def _read_dev_keys(path: Path) -> DevKeys:
    data = _json_object(path.read_text(encoding="utf-8"), f"dev key file {path}")
    try:
        access = data["access"]
        pair = KeyPair(private_key=access["private_key"], public_key=access["public_key"])
        password = data["refresh_password"]
    except (KeyError, TypeError) as exc:
        raise RuntimeError(f"dev key file {path} is incomplete; delete it to generate new keys") from exc
    if not isinstance(password, str) or not password:
        raise RuntimeError(f"dev key file {path} has no refresh_password; delete it to generate new keys")
    return DevKeys(access_key=pair, refresh_password=password)


def _write_dev_keys(path: Path, keys: DevKeys) -> None:
    payload = {
        "comment": "Development keys of examples/seed. Do not commit, do not use in production.",
        "access": {"private_key": keys.access_key.private_key, "public_key": keys.access_key.public_key},
        "refresh_password": keys.refresh_password,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600; the rename makes the write atomic.
    fd, tmp = tempfile.mkstemp(prefix=".dev-keys-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dev_keys(path: Path) -> DevKeys:
    if path.exists():
        return _read_dev_keys(path)
    pair = generate_jwk(ACCESS_ALG)
    if not isinstance(pair, KeyPair):  # pragma: no cover - RS256 always yields a pair
        raise TypeError(f"generate_jwk({ACCESS_ALG!r}) did not return a KeyPair")
    keys = DevKeys(access_key=pair, refresh_password=secrets.token_urlsafe(32))
    _write_dev_keys(path, keys)
    logger.warning("generated development keys in %s", path)
    return keys


def load_keys(
    *,
    access_key: KeyPair | None = None,
    refresh_password: str | None = None,
    dev_keys_path: str | os.PathLike[str] | None = None,
) -> DevKeys:
    """Resolve the keys: explicit arguments, then environment variables, then the dev key file."""
    private_env = os.environ.get(ACCESS_PRIVATE_ENV)
    if access_key is None and private_env:
        private = _json_object(private_env, ACCESS_PRIVATE_ENV)
        public_env = os.environ.get(ACCESS_PUBLIC_ENV)
        public = _json_object(public_env, ACCESS_PUBLIC_ENV) if public_env else _public_half(private)
        access_key = KeyPair(private_key=private, public_key=public)
    if refresh_password is None:
        refresh_password = os.environ.get(REFRESH_PASSWORD_ENV) or None
    if access_key is None or refresh_password is None:
        path = Path(dev_keys_path or os.environ.get(DEV_KEYS_ENV) or DEFAULT_DEV_KEYS_PATH)
        dev = _dev_keys(path)
        access_key = dev.access_key if access_key is None else access_key
        refresh_password = dev.refresh_password if refresh_password is None else refresh_password
    return DevKeys(access_key=access_key, refresh_password=refresh_password)


# --------------------------------------------------------------------------------------------------
# sessions


def _access_claims(refresh_data: Mapping[str, Any]) -> dict[str, Any]:
    """The access session's data, copied from the refresh session's."""
    return {"sub": refresh_data["sub"], "scope": refresh_data.get("scope", [])}


def _describe(session: Session[Any]) -> dict[str, Any]:
    """The seed's response shape for one session (its token stays in the cookie).

    Like ``JSON.stringify`` on the original, a member without a value is left out: a session that
    does not exist has no ``id``. Like unjwt's, it was "created" now and "expires" one lifetime
    later.
    """
    expires_at = session.expires_at
    max_age = session.config.max_age_seconds
    if session.id is None and expires_at is None and max_age is not None:
        expires_at = session.created_at + max_age * 1000
    described = {
        "id": session.id,
        "createdAt": session.created_at,
        "expiresAt": expires_at,
        "data": session.data,
    }
    return {key: value for key, value in described.items() if value is not None}


def session_configs(
    keys: DevKeys,
    *,
    pbes2_iterations: int = 600_000,
    clock: Callable[[], float] = time.time,
) -> tuple[JWSSessionConfig[Any], JWESessionConfig[Any]]:
    """The access (JWS, 15 minutes) and refresh (JWE, 7 days) configs of the seed."""
    refresh_config: JWESessionConfig[Any] = JWESessionConfig(
        key=keys.refresh_password,
        name=REFRESH_SESSION,
        max_age="7D",
        cookie=H3_COOKIE,
        pbes2_iterations=pbes2_iterations,
        clock=clock,
    )
    access_config: JWSSessionConfig[Any] = JWSSessionConfig(
        key=keys.access_key,
        name=ACCESS_SESSION,
        max_age="15m",
        cookie=H3_COOKIE,
        clock=clock,
    )

    @access_config.hooks.on_expire
    async def reissue_access(event: HookEvent) -> None:
        # The access token just expired: mint a new one from the refresh session, if there is one.
        refresh = await get_jwe_session(event.connection, refresh_config)
        if refresh.data.get("sub"):
            logger.info("access token expired, re-issuing it from the refresh session")
            await update_jws_session(event.connection, event.config, _access_claims(refresh.data))

    return access_config, refresh_config


def _credentials(body: bytes) -> tuple[str, str]:
    """The username and password of a JSON body; 400 (the original's answer) for anything else."""
    try:
        data = msgspec.json.decode(body) if body.strip() else {}
    except msgspec.DecodeError:
        data = {}  # the original reads an unparsable body as {}
    username = data.get("username") if isinstance(data, dict) else None
    password = data.get("password") if isinstance(data, dict) else None
    if not (isinstance(username, str) and username and isinstance(password, str) and password):
        raise HTTPException(status_code=400, detail=CREDENTIALS_REQUIRED)
    return username, password


class H3Error(msgspec.Struct):
    """h3's error body, as :func:`h3_error` writes it (documented in the OpenAPI schema)."""

    status: int
    message: str


@dataclass
class LoginOperation(Operation):
    """The OpenAPI operation of ``POST /login``, which reads its JSON body itself (as h3 does:
    anything but a username and a password answers 400), so Litestar cannot document it."""

    def __post_init__(self) -> None:
        credentials = Schema(
            type=OpenAPIType.OBJECT,
            properties={
                "username": Schema(type=OpenAPIType.STRING),
                "password": Schema(type=OpenAPIType.STRING),
            },
        )
        # optional: a caller who already has a valid access session needs none
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=credentials)})


def h3_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """An error as h3 answers it: ``{"status": ..., "message": ...}``.

    h3 answers 404 for a path it has no route for with that method, where Litestar would say 405.
    """
    if isinstance(exc, NotFoundException | MethodNotAllowedException):
        status, message = 404, f"Cannot find any route matching [{request.method}] {request.url}"
    else:
        status, message = exc.status_code, exc.detail
    return Response({"status": status, "message": message}, status_code=status)


# --------------------------------------------------------------------------------------------------
# application


def create_app(
    *,
    access_key: KeyPair | None = None,
    refresh_password: str | None = None,
    dev_keys_path: str | os.PathLike[str] | None = None,
    pbes2_iterations: int = 600_000,
    clock: Callable[[], float] = time.time,
    debug: bool = False,
) -> Litestar:
    """Build the seed application.

    Tests pass explicit keys, a small ``pbes2_iterations`` and a fake ``clock`` (seconds).
    """
    keys = load_keys(access_key=access_key, refresh_password=refresh_password, dev_keys_path=dev_keys_path)
    access_config, refresh_config = session_configs(keys, pbes2_iterations=pbes2_iterations, clock=clock)

    def both(access: Session[Any], refresh: Session[Any]) -> dict[str, Any]:
        return {"accessToken": _describe(access), "refreshSession": _describe(refresh)}

    @post(
        "/login",
        status_code=200,
        operation_class=LoginOperation,
        responses={400: ResponseSpec(H3Error, description=CREDENTIALS_REQUIRED)},
    )
    async def login(request: Request[Any, Any, Any]) -> dict[str, Any]:
        # Read in this order, the access cookie comes first in the response, as in the original.
        access = await use_jws_session(request, access_config)
        refresh = await use_jwe_session(request, refresh_config)

        if access.data.get("sub"):
            # Already logged in: return the current state.
            return both(access, refresh)

        username, _password = _credentials(await request.body())
        # A real application checks the credentials against its user store here.
        claims = {"sub": username, "scope": list(DEFAULT_SCOPES)}
        await access.update(claims)
        await refresh.update(claims)
        return both(access, refresh)

    @get(
        "/profile",
        # no session guard here (the handler answers h3's 401 itself), so the security schemes of
        # the access session (the plugin names them) and that 401 are declared by hand
        security=[{f"{ACCESS_SESSION}_cookie": []}, {f"{ACCESS_SESSION}_header": []}],
        responses={401: ResponseSpec(H3Error, description=NOT_AUTHENTICATED)},
    )
    async def profile(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
        # The access session, injected by the plugin (re-issued by ``on_expire`` if it just expired).
        if not access_token.data.get("sub"):
            raise NotAuthorizedException(NOT_AUTHENTICATED)
        answer = {"userId": access_token.data["sub"], "scope": access_token.data.get("scope")}
        return {key: value for key, value in answer.items() if value is not None}

    @post("/logout", status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> dict[str, bool]:
        access = await use_jws_session(request, access_config)
        refresh = await use_jwe_session(request, refresh_config)
        await access.clear()
        await refresh.clear()
        return {"ok": True}

    return Litestar(
        route_handlers=[login, profile, logout],
        # no refresh fallback: only the on_expire hook re-issues the access session, as upstream
        plugins=[JWTSessionPlugin(access=access_config, refresh=refresh_config, refresh_fallback=False)],
        exception_handlers={HTTPException: h3_error},
        debug=debug,
    )


_app: Litestar | None = None


def __getattr__(name: str) -> Any:
    # ``app`` is built lazily (see the module docstring).
    global _app
    if name == "app":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
