"""A small notes API guarded by scopes, with typed claims and a refresh session.

- ``POST /login`` with JSON ``{"username": ..., "password": ...}`` issues a short-lived signed
  access session (ES256 JWS, cookie ``access_token``) and a long-lived encrypted refresh session
  (A256KW JWE, cookie ``refresh_token``). Demo users:

  ======== ================== =====================
  user     password           scopes
  ======== ================== =====================
  alice    ``alice-password`` read, write
  bob      ``bob-password``   read
  carol    ``carol-password`` read, write, admin
  ======== ================== =====================

- ``GET /notes`` needs ``read``, ``POST /notes`` needs ``write``, ``GET /admin`` needs ``admin``,
  ``GET /me`` any valid session. Without a valid session: 401 and ``WWW-Authenticate: Bearer``;
  with too few scopes: 403 and ``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``.
- When the access session has expired (the browser stops sending its cookie) the plugin re-issues
  it from the refresh session before the guard decides; the new cookie comes with that response.
- ``POST /logout`` clears both sessions.

Run it with ``uvicorn examples.scopes_api.app:app`` and try::

    curl -i -c jar -b jar http://127.0.0.1:8000/login \\
        -H 'content-type: application/json' -d '{"username": "bob", "password": "bob-password"}'
    curl -i -b jar http://127.0.0.1:8000/notes                               # 200
    curl -i -b jar http://127.0.0.1:8000/notes -H 'content-type: application/json' -d '{"text": "hi"}'  # 403

Browsers treat ``http://127.0.0.1`` as secure, so the ``Secure`` cookies work there without TLS
(curl does too for localhost). The OpenAPI docs at ``/schema`` list each route's scopes.

The keys are generated in-process at startup (development only): restarting the server logs
everyone out. Pass your own to :func:`create_app` (``access_key``: an ES256 :class:`KeyPair`,
``refresh_key``: an A256KW oct JWK) in anything but a demo.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody

from litestar_jwtsession import (
    JWK,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    Session,
    SessionClaims,
    generate_jwk,
    requires_scopes,
    requires_session,
)

__all__ = ("DEMO_USERS", "AccessClaims", "app", "create_app", "generate_dev_keys")

ACCESS_ALG = "ES256"
REFRESH_ALG = "A256KW"


class AccessClaims(SessionClaims):
    """The claims of both sessions: who the user is and what they may do."""

    name: str
    scope: list[str]


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    password: str
    scopes: tuple[str, ...]


DEMO_USERS: dict[str, DemoUser] = {
    user.username: user
    for user in (
        DemoUser("alice", "Alice", "alice-password", ("read", "write")),
        DemoUser("bob", "Bob", "bob-password", ("read",)),
        DemoUser("carol", "Carol", "carol-password", ("read", "write", "admin")),
    )
}


class Credentials(msgspec.Struct):
    username: str
    password: str


class NoteIn(msgspec.Struct):
    text: str


class Note(msgspec.Struct):
    id: int
    text: str
    author: str


@dataclass
class NoteStore:
    """In-memory notes of one application instance."""

    notes: list[Note] = field(default_factory=list)

    def add(self, text: str, author: str) -> Note:
        note = Note(id=len(self.notes) + 1, text=text, author=author)
        self.notes.append(note)
        return note


# --------------------------------------------------------------------------------------------------
# routes


@post("/login", status_code=200, raises=[NotAuthorizedException])  # raises: documents its 401
async def login(
    data: JSONBody[Credentials],
    access_token: NamedDependency[Session[AccessClaims]],
    refresh_token: NamedDependency[Session[AccessClaims]],
) -> dict[str, Any]:
    """Check the demo credentials and issue both sessions."""
    user = DEMO_USERS.get(data.username)
    if user is None or not secrets.compare_digest(user.password.encode(), data.password.encode()):
        raise NotAuthorizedException(detail="Unknown user or wrong password")
    claims = AccessClaims(sub=user.username, name=user.name, scope=list(user.scopes))
    await access_token.update(claims, replace=True)
    await refresh_token.update(claims, replace=True)
    return {"user": user.username, "scope": claims.scope, "expires_at": access_token.expires_at}


@get("/me", guards=[requires_session()])
async def me(request: Request[DemoUser, AccessClaims, Any]) -> dict[str, Any]:
    """Any valid session: ``request.auth`` holds the claims, ``request.user`` the demo user."""
    return {"user": request.user.username, "name": request.auth.name, "scope": request.auth.scope}


@get("/notes", guards=[requires_scopes("read")])
async def list_notes(
    access_token: NamedDependency[Session[AccessClaims]], notes: NamedDependency[NoteStore]
) -> dict[str, Any]:
    claims = _claims(access_token)
    return {"reader": claims.name, "notes": notes.notes}


@post("/notes", guards=[requires_scopes("write")])
async def create_note(
    data: JSONBody[NoteIn],
    access_token: NamedDependency[Session[AccessClaims]],
    notes: NamedDependency[NoteStore],
) -> Note:
    return notes.add(data.text, author=_claims(access_token).name)


@get("/admin", guards=[requires_scopes("admin")])
async def admin(
    access_token: NamedDependency[Session[AccessClaims]], notes: NamedDependency[NoteStore]
) -> dict[str, Any]:
    claims = _claims(access_token)
    return {"admin": claims.name, "note_count": len(notes.notes), "session_id": access_token.id}


@post("/logout", status_code=204)
async def logout(
    access_token: NamedDependency[Session[AccessClaims]],
    refresh_token: NamedDependency[Session[AccessClaims]],
) -> None:
    """Clear both sessions (their cookies are expired on this response)."""
    await access_token.clear()
    await refresh_token.clear()


def _claims(session: Session[AccessClaims]) -> AccessClaims:
    # The guard already admitted the request; this only narrows ``AccessClaims | None`` for the type checker.
    if session.claims is None:
        raise NotAuthorizedException(headers={"WWW-Authenticate": "Bearer"})
    return session.claims


async def retrieve_user(
    claims: AccessClaims, connection: ASGIConnection[Any, Any, Any, Any]
) -> DemoUser | None:
    """``request.user`` on guarded routes; ``None`` (a deleted user) turns the request into a 401."""
    return DEMO_USERS.get(claims.sub or "")


# --------------------------------------------------------------------------------------------------
# application


def generate_dev_keys() -> tuple[KeyPair, JWK]:
    """A fresh ES256 pair for the access session and an A256KW key for the refresh session."""
    access_key = generate_jwk(ACCESS_ALG)
    refresh_key = generate_jwk(REFRESH_ALG)
    if not isinstance(access_key, KeyPair) or not isinstance(refresh_key, dict):
        raise TypeError("unexpected key types from generate_jwk")  # pragma: no cover
    return access_key, refresh_key


def create_app(
    *,
    access_key: KeyPair | None = None,
    refresh_key: JWK | None = None,
    clock: Callable[[], float] = time.time,
    access_max_age: int | str = "5m",
    refresh_max_age: int | str = "7D",
    debug: bool = False,
) -> Litestar:
    """Build the API. Without keys, development keys are generated (sessions end with the process)."""
    if access_key is None or refresh_key is None:
        generated_access, generated_refresh = generate_dev_keys()
        access_key = access_key or generated_access
        refresh_key = refresh_key or generated_refresh
    access: JWSSessionConfig[AccessClaims] = JWSSessionConfig(
        key=access_key,
        alg=ACCESS_ALG,
        name="access_token",
        max_age=access_max_age,
        claims=AccessClaims,
        clock=clock,
    )
    refresh: JWESessionConfig[AccessClaims] = JWESessionConfig(
        key=refresh_key,
        alg=REFRESH_ALG,
        enc="A256GCM",
        name="refresh_token",
        max_age=refresh_max_age,
        claims=AccessClaims,
        clock=clock,
    )
    store = NoteStore()

    async def provide_notes() -> NoteStore:
        return store

    return Litestar(
        route_handlers=[login, me, list_notes, create_note, admin, logout],
        dependencies={"notes": Provide(provide_notes)},
        plugins=[JWTSessionPlugin(access=access, refresh=refresh, retrieve_user_handler=retrieve_user)],
        debug=debug,
    )


app = create_app()
