"""The two sides of the interop tests and the cookie jar they share.

A *side* is one implementation answering the same small HTTP protocol: read a session, update it
with a mapping, clear it (see ``node/server.mjs``). :class:`PySide` is a Litestar app using this
library's functional API, served in-process; :class:`NodeSide` talks to the Node server (unjwt's h3
v2 adapter). Both get their cookies only from a :class:`Jar` through an explicit ``Cookie`` header,
the way a browser that sees both services on one site would send them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from litestar_jwtsession import (
    HookEvent,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    KeyPair,
    clear_jwe_session,
    clear_jws_session,
    generate_jwk,
    use_jwe_session,
    use_jws_session,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

Kind = Literal["jws", "jwe"]

__all__ = ("Cookie", "Jar", "NodeSide", "PySide", "Reply", "SessionSpec", "parse_set_cookie")


# --------------------------------------------------------------------------- cookies


@dataclass
class Cookie:
    """One parsed ``Set-Cookie`` header."""

    name: str
    value: str
    attributes: dict[str, str]
    """Lower-cased attribute names; flags (``HttpOnly``, ``Secure``) map to ``""``."""

    @property
    def expires(self) -> float | None:
        """``Expires`` in epoch seconds (``None`` for a session cookie)."""
        raw = self.attributes.get("expires")
        return None if raw is None else parsedate_to_datetime(raw).timestamp()

    @property
    def deletes(self) -> bool:
        """Whether a browser drops the cookie on receipt (``Max-Age<=0`` or ``Expires`` in the past)."""
        max_age = self.attributes.get("max-age")
        if max_age is not None:
            return int(max_age) <= 0
        expires = self.expires
        return expires is not None and expires <= time.time()


def parse_set_cookie(header: str) -> Cookie:
    pair, *attributes = header.split(";")
    name, _, value = pair.partition("=")
    parsed: dict[str, str] = {}
    for attribute in attributes:
        key, _, attr_value = attribute.strip().partition("=")
        parsed[key.lower()] = attr_value
    return Cookie(name.strip(), value.strip(), parsed)


@dataclass
class Jar:
    """A browser's cookie store for one site: both services see the same cookies, by name."""

    cookies: dict[str, Cookie] = field(default_factory=dict)

    def apply(self, set_cookies: Iterable[str]) -> list[Cookie]:
        """Store or delete what a response set; returns the parsed headers."""
        parsed = [parse_set_cookie(header) for header in set_cookies]
        for cookie in parsed:
            if cookie.deletes:
                self.cookies.pop(cookie.name, None)
            else:
                self.cookies[cookie.name] = cookie
        return parsed

    def header(self, *, drop_expired: bool = True) -> str:
        """The ``Cookie`` header; a browser leaves out cookies past their ``Expires``."""
        now = time.time()
        return "; ".join(
            f"{cookie.name}={cookie.value}"
            for cookie in self.cookies.values()
            if not (drop_expired and cookie.expires is not None and cookie.expires <= now)
        )

    def names(self, prefix: str) -> list[str]:
        """Stored cookie names equal to ``prefix`` or starting with ``prefix.`` (chunks)."""
        return sorted(name for name in self.cookies if name == prefix or name.startswith(f"{prefix}."))


# --------------------------------------------------------------------------- sides


@dataclass(frozen=True)
class SessionSpec:
    """One session configured identically on both sides."""

    kind: Kind
    name: str
    py_key: Any
    """``str`` (password), an oct JWK, or a :class:`KeyPair`."""
    node_key: Any
    """The same key in unjwt's shape: a password, an oct JWK, or ``{privateKey, publicKey}``."""
    max_age: int | None = 3600

    def node_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "key": self.node_key}
        if self.max_age is not None:
            config["maxAge"] = self.max_age
        return config

    def py_config(self) -> JWSSessionConfig[Any] | JWESessionConfig[Any]:
        cls = JWSSessionConfig if self.kind == "jws" else JWESessionConfig
        return cls(key=self.py_key, name=self.name, max_age=self.max_age)


def node_key_of(key: Any) -> Any:
    """unjwt's shape of one of our keys."""
    if isinstance(key, KeyPair):
        return {"privateKey": key.private_key, "publicKey": key.public_key}
    return key


def py_key_of(key: Any) -> Any:
    """Our shape of one of unjwt's keys (``generateJWK``'s JSON)."""
    if isinstance(key, dict) and "privateKey" in key:
        return KeyPair(private_key=key["privateKey"], public_key=key["publicKey"])
    return key


@dataclass
class Reply:
    """A side's answer: the session in unjwt's JSON shape, the cookies it set, any read error."""

    session: dict[str, Any]
    set_cookies: list[str]
    error: str | None = None

    @property
    def state(self) -> dict[str, Any]:
        """What both sides must agree on."""
        return {key: self.session.get(key) for key in ("id", "createdAt", "expiresAt", "data")}


def _reply(response: httpx.Response) -> Reply:
    assert response.status_code in (200, 201), (response.status_code, response.text)
    body = response.json()
    return Reply(body["session"], response.headers.get_list("set-cookie"), body.get("error"))


class _HttpSide:
    """A peer reached over HTTP with one shared cookie jar: the same routes on both sides."""

    client: httpx.Client

    def _send(self, method: str, path: str, jar: Jar, body: Any = None) -> Reply:
        self.client.cookies.clear()
        headers = {"cookie": jar.header()} if jar.cookies else {}
        reply = _reply(self.client.request(method, path, headers=headers, json=body))
        jar.apply(reply.set_cookies)
        return reply

    def read(self, spec: SessionSpec, jar: Jar) -> Reply:
        return self._send("GET", f"/session/{spec.name}", jar)

    def update(self, spec: SessionSpec, jar: Jar, data: dict[str, Any]) -> Reply:
        return self._send("POST", f"/session/{spec.name}", jar, {"data": data})

    def clear(self, spec: SessionSpec, jar: Jar) -> Reply:
        return self._send("POST", f"/session/{spec.name}/clear", jar)


class NodeSide(_HttpSide):
    """unjwt's h3 v2 adapter, in the Node server."""

    label = "node"

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)

    def configure(self, spec: SessionSpec) -> None:
        response = self.client.put(
            f"/config/{spec.name}", json={"kind": spec.kind, "config": spec.node_config()}
        )
        assert response.status_code == 200, response.text

    def post(self, path: str, body: Any) -> Any:
        response = self.client.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        self.client.close()


def _record_errors(config: JWSSessionConfig[Any] | JWESessionConfig[Any]) -> None:
    def record(event: HookEvent) -> None:
        event.connection.scope["interop_error"] = f"{event.error.code}: {event.error}"

    config.hooks.on_error(record)
    config.hooks.on_expire(record)


class PySide(_HttpSide):
    """This library, through its functional API, in an in-process Litestar app."""

    label = "py"

    def __init__(self) -> None:
        configs: dict[str, JWSSessionConfig[Any] | JWESessionConfig[Any]] = {}
        self.configs = configs

        async def use(request: Request[Any, Any, Any]) -> Any:
            config = configs[request.path_params["name"]]
            if isinstance(config, JWSSessionConfig):
                return await use_jws_session(request, config)
            return await use_jwe_session(request, config)

        def answer(request: Request[Any, Any, Any], session: dict[str, Any]) -> dict[str, Any]:
            return {"session": session, "error": request.scope.get("interop_error")}  # type: ignore[typeddict-item]

        @get("/session/{name:str}")
        async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
            return answer(request, (await use(request)).as_json())

        @post("/session/{name:str}", status_code=200)
        async def update(request: Request[Any, Any, Any]) -> dict[str, Any]:
            body = await request.json()
            session = await use(request)
            await session.update(body["data"])
            return answer(request, session.as_json())

        @post("/session/{name:str}/clear", status_code=200)
        async def clear(request: Request[Any, Any, Any]) -> dict[str, Any]:
            config = configs[request.path_params["name"]]
            clear_fn: Callable[..., Any] = (
                clear_jws_session if isinstance(config, JWSSessionConfig) else clear_jwe_session
            )
            await use(request)
            await clear_fn(request, config)
            return answer(request, {})

        # the plugin needs one config to install itself; the tests register theirs later
        placeholder = JWSSessionConfig(key=generate_jwk("HS256"), name="interop-placeholder")
        app = Litestar(route_handlers=[read, update, clear], plugins=[JWTSessionPlugin(access=placeholder)])
        self.client = TestClient(app, base_url="https://interop.test")
        self.client.__enter__()

    def configure(self, spec: SessionSpec) -> None:
        config = spec.py_config()
        _record_errors(config)
        self.configs[spec.name] = config

    def close(self) -> None:
        self.client.__exit__(None, None, None)
