"""Real servers for the remote JWK Set tests: uvicorn in a thread, an issuer app publishing its
keys with ``jwks_route``, and the misbehaving JWKS endpoints an issuer can have.

The issuer is a Litestar app using this library (``/login`` issues an access session, ``jwks_route``
publishes its public keys). A rotation deploys a new app (a new signing key, both public keys
published) behind the same listening socket, as a redeployed issuer would be. Every request is
counted per path, so the tests assert how many fetches reached the issuer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import uvicorn
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Response, Stream

from litestar_jwtsession import (
    HookEvent,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    RemoteJWKSet,
    Session,
    generate_jwk,
    jwks_route,
    requires_session,
    use_jws_session,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from litestar.types import Receive, Scope, Send

JWKS_PATH = "/.well-known/jwks.json"
START_TIMEOUT = 30.0


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="on", ws="none", http="h11", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:  # waiting for start-up, not a timed assertion
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(START_TIMEOUT)
        self._socket.close()


@contextlib.contextmanager
def serving(app: Any) -> Iterator[ServerThread]:
    server = ServerThread(app).start()
    try:
        yield server
    finally:
        server.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gate:
    """Holds requests of the issuer's thread until the test releases them."""

    def __init__(self) -> None:
        self._open = threading.Event()

    def release(self) -> None:
        self._open.set()

    async def passed(self) -> None:
        await asyncio.to_thread(self._open.wait)


def key_pair(alg: str, kid: str) -> KeyPair:
    pair = generate_jwk(alg, kid=kid)
    assert isinstance(pair, KeyPair)
    return pair


class Issuer:
    """The issuing service: signs access sessions and publishes its keys (ASGI app).

    ``documents`` are extra JWK Set bodies served raw at ``/raw/<name>`` (malformed sets and
    the like); ``/hang`` holds a request until ``gate`` is released, then serves the real set;
    ``/endless`` streams a body that never ends; ``/status/<code>`` answers that status.
    """

    def __init__(self, alg: str = "ES256", *, cache_max_age: int = 3600) -> None:
        self.alg = alg
        self.cache_max_age = cache_max_age
        self.signing = key_pair(alg, "issuer-1")
        self.published: list[KeyPair] = [self.signing]
        self.documents: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.requests: Counter[str] = Counter()
        self.gate = Gate()
        self.endless_bytes = 0
        self._app = self._build()

    @property
    def fetches(self) -> int:
        """Requests for the JWK Set (the real route, ``/hang`` and ``/raw/...``) seen so far."""
        return sum(count for path, count in self.requests.items() if path != "/login")

    def config(self) -> JWSSessionConfig[Any]:
        public = {"keys": [pair.public_key for pair in self.published]}
        return JWSSessionConfig(
            key=KeyPair(private_key=self.signing.private_key, public_key=public),
            name="access_token",
            max_age="15m",
            session_header="authorization",
        )

    def rotate(self, alg: str | None = None) -> None:
        """Deploy a new signing key; the previous public key stays published."""
        self.signing = key_pair(alg or self.alg, f"issuer-{len(self.published) + 1}")
        self.published.insert(0, self.signing)
        self._app = self._build()

    def _build(self) -> Litestar:
        config = self.config()
        issuer = self

        @post("/login")
        async def login(request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
            session = await use_jws_session(request, config)
            await session.update(data, replace=True)
            return {"token": session.token}

        @get("/hang/jwks.json", media_type="application/jwk-set+json")
        async def hang() -> Response[bytes]:
            await issuer.gate.passed()
            return Response(issuer.public_set(), headers={"cache-control": "max-age=600"})

        @get("/raw/{name:str}")
        async def raw(name: FromPath[str]) -> Response[bytes]:
            body, headers = issuer.documents[name]
            return Response(body, media_type="application/json", headers=headers)

        @get("/status/{code:int}")
        async def status(code: FromPath[int]) -> Response[bytes]:
            headers = {"location": JWKS_PATH} if 300 <= code < 400 else {}
            return Response(b"{}", status_code=code, media_type="application/json", headers=headers)

        @get("/endless/jwks.json")
        async def endless() -> Stream:
            async def chunks() -> AsyncIterator[bytes]:
                chunk = b" " * 16384
                while issuer.endless_bytes < 256 * 1024 * 1024:  # a cap for a broken client
                    issuer.endless_bytes += len(chunk)
                    yield chunk
                    # let Litestar see the client hang up (uvicorn drops writes after it silently)
                    await asyncio.sleep(0)

            return Stream(chunks(), media_type="application/json")

        return Litestar(
            route_handlers=[
                login,
                hang,
                raw,
                status,
                endless,
                jwks_route(JWKS_PATH, config=config, cache_max_age=self.cache_max_age),
            ],
            plugins=[JWTSessionPlugin(access=config)],
        )

    def public_set(self) -> bytes:
        return json.dumps({"keys": [pair.public_key for pair in self.published]}).encode()

    def serve_raw(self, name: str, document: Any, headers: dict[str, str] | None = None) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[name] = (body, headers or {})
        return f"/raw/{name}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the apps are swapped at will: none needs a start-up
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http":
            self.requests[scope["path"]] += 1
        await self._app(scope, receive, send)


class Verifier:
    """The verifying service: its access session is checked with the issuer's published keys.

    ``errors`` collects the codes ``on_error`` reported, in order, ``messages`` their messages.
    """

    def __init__(self, remote: RemoteJWKSet) -> None:
        self.remote = remote
        self.errors: list[str] = []
        self.messages: list[str] = []
        config: JWSSessionConfig[Any] = JWSSessionConfig(
            key=remote, name="access_token", session_header="authorization"
        )
        config.hooks.on_error(self._record)
        self.config = config

        @get("/me", guards=[requires_session()])
        async def me(access_token: NamedDependency[Session[Any]]) -> dict[str, Any]:
            return access_token.data

        @get("/ping")
        async def ping() -> dict[str, bool]:
            return {"pong": True}

        self.app = Litestar(route_handlers=[me, ping], plugins=[JWTSessionPlugin(access=config)])

    def _record(self, event: HookEvent) -> None:
        assert event.error is not None
        self.errors.append(event.error.code.value)
        self.messages.append(event.error.message)
