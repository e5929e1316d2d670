"""The guards' cached read (``RequestContext.cached_claims``): a cookie token seen before is admitted
without building session objects, and the outcome is the one the full read would give.

Handlers report how the request's session was read: ``"full"`` when a session object was built
(the full read), ``"cached"`` when the guard's read from the token cache stood in for it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from litestar_jwtsession import (
    ErrorCode,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    generate_jwk,
    requires_scopes,
    requires_session,
    use_jws_session,
)
from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.session.context import RequestContext
from litestar_jwtsession.session.csrf import csrf_token
from tests.helpers import FakeClock

BASE_URL = "https://testserver.local"
HS256 = generate_jwk("HS256")
NOW = 1_750_000_000.0


def read_kind(request: Request[Any, Any, Any]) -> str:
    """``"full"`` when the request built a session object, ``"cached"`` when it did not."""
    return "full" if request_context(request).sessions else "cached"


def mint(config: JWSSessionConfig[Any], data: dict[str, Any], *, iat: float = NOW, ttl: int = 60) -> str:
    return config.encode_token({**data, "jti": str(uuid.uuid4()), "iat": int(iat), "exp": int(iat) + ttl})


class Counted:
    """Counts the codec's full decodes (signature checks) of one config."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, config: JWSSessionConfig[Any]) -> None:
        self.calls = 0
        original = config.codec._decode

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(config.codec, "_decode", counting)


def counted_setup(monkeypatch: pytest.MonkeyPatch) -> tuple[JWSSessionConfig[Any], Counted, str]:
    """An access config whose full decodes are counted, and a token of it with scope ``read``."""
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    return config, Counted(monkeypatch, config), mint(config, {"sub": "ada", "scope": ["read"]})


def app_for(config: JWSSessionConfig[Any], **plugin: Any) -> Litestar:
    @get("/peek", guards=[requires_scopes("read")])
    async def peek(request: Request[Any, Any, Any]) -> dict[str, Any]:
        # a handler that never touches the session: what the guard left in the scope
        return {"kind": read_kind(request), "auth": request.auth}

    @get("/session", guards=[requires_session(), requires_scopes("read")])
    async def session_route(
        access: NamedDependency[Session[Any]], request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        return {
            "id": access.id,
            "data": access.data,
            "created_at": access.created_at,
            "expires_at": access.expires_at,
            "same_claims": access.claims is request.auth,
        }

    @post("/update", guards=[requires_scopes("read")], status_code=200)
    async def update(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        old = access.id
        await access.update({"seen": True})
        return {"old": old, "new": access.id, "data": access.data}

    @post("/logout", guards=[requires_session()], status_code=200)
    async def logout(access: NamedDependency[Session[Any]]) -> None:
        await access.clear()

    return Litestar(
        [peek, session_route, update, logout], plugins=[JWTSessionPlugin(access=config, **plugin)]
    )


def client(app: Litestar, token: str) -> TestClient[Any]:
    test_client = TestClient(app, base_url=BASE_URL)
    test_client.cookies.set("access", token)
    return test_client


def test_a_cookie_seen_before_is_admitted_without_session_objects_or_cryptography(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, counted, token = counted_setup(monkeypatch)
    with client(app_for(config), token) as test_client:
        first = test_client.get("/peek")
        assert first.status_code == 200
        assert first.json()["kind"] == "full"  # first sight: the full read verified it
        assert counted.calls == 1
        second = test_client.get("/peek")
        assert second.status_code == 200
        assert second.json()["kind"] == "cached"
        assert second.json()["auth"] == first.json()["auth"]
        assert second.json()["auth"]["scope"] == ["read"]
        assert counted.calls == 1  # no second signature check
        assert "set-cookie" not in second.headers


def test_a_session_built_after_an_admission_is_the_one_the_full_read_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, counted, token = counted_setup(monkeypatch)
    with client(app_for(config), token) as test_client:
        full = test_client.get("/session").json()
        admitted = test_client.get("/session").json()
    assert admitted == full
    assert admitted["data"] == {"sub": "ada", "scope": ["read"]}
    assert admitted["created_at"] == int(NOW) * 1000
    assert admitted["expires_at"] == (int(NOW) + 60) * 1000
    assert admitted["same_claims"] is True  # one decoded payload for the guard and the handler
    assert counted.calls == 1


def test_an_admitted_session_can_be_updated_and_cleared() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(config, {"sub": "ada", "scope": ["read"]})
    app = app_for(config)
    with client(app, token) as test_client:
        test_client.get("/peek")  # now cached
        updated = test_client.post("/update")
        assert updated.status_code == 200
        body = updated.json()
        assert body["old"] is not None
        assert body["new"] != body["old"]
        assert body["data"] == {"sub": "ada", "scope": ["read"], "seen": True}
        assert updated.headers["set-cookie"].startswith("access=")
    with client(app, token) as test_client:
        test_client.get("/peek")
        cleared = test_client.post("/logout")
        assert cleared.status_code == 200
        assert cleared.headers["set-cookie"].startswith("access=;")


def test_an_expired_token_is_refused_on_a_cache_hit_with_on_expire() -> None:
    clock = FakeClock(NOW)
    config = JWSSessionConfig(key=HS256, name="access", clock=clock)
    expired: list[str | None] = []
    config.hooks.on_expire(lambda event: expired.append(event.session.id))
    token = mint(config, {"sub": "ada", "scope": ["read"]}, ttl=10)
    with client(app_for(config), token) as test_client:
        assert test_client.get("/peek").status_code == 200
        clock.now = NOW + 10  # exp == now: expired
        refused = test_client.get("/peek")
    assert refused.status_code == 401
    assert len(expired) == 1
    assert expired[0] is not None
    assert refused.headers["set-cookie"].startswith("access=;")  # the lapsed cookie is dropped


def test_on_read_still_fires_for_every_request_with_a_cached_token() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    reads: list[str] = []
    config.hooks.on_read(lambda event: reads.append(event.session.id))
    token = mint(config, {"sub": "ada", "scope": ["read"]})
    with client(app_for(config), token) as test_client:
        for _ in range(3):
            response = test_client.get("/peek")
            assert response.status_code == 200
            assert response.json()["kind"] == "full"
    assert len(reads) == 3
    assert len(set(reads)) == 1


def test_csrf_is_checked_on_unsafe_requests_with_a_cached_token() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW), csrf=True)
    errors: list[str] = []
    config.hooks.on_error(lambda event: errors.append(event.error.code))
    token = mint(config, {"sub": "ada", "scope": ["read"]})
    with client(app_for(config), token) as test_client:
        test_client.get("/peek")
        assert test_client.get("/peek").json()["kind"] == "cached"  # GET is safe: admitted
        forged = test_client.post("/update")
        assert forged.status_code == 401
        assert errors == [ErrorCode.CSRF_TOKEN_INVALID]
        jti = config.codec.decode(token, now=NOW)["jti"]
        good = test_client.post("/update", headers={"x-csrf-token": csrf_token(config.csrf_key, jti)})
        assert good.status_code == 200


def test_the_session_header_wins_over_a_cached_cookie() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    cookie = mint(config, {"sub": "cookie-user", "scope": ["read"]})
    header = mint(config, {"sub": "header-user", "scope": ["read"]})
    with client(app_for(config), cookie) as test_client:
        assert test_client.get("/peek").json()["auth"]["sub"] == "cookie-user"
        assert test_client.get("/peek").json()["kind"] == "cached"
        response = test_client.get("/peek", headers={"x-access-session": f"Bearer {header}"})
    assert response.json()["auth"]["sub"] == "header-user"
    assert response.json()["kind"] == "full"


def test_scopes_of_a_cached_token_are_checked_on_every_request() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(config, {"sub": "ada", "scope": ["write"]})
    with client(app_for(config), token) as test_client:
        statuses = [test_client.get("/peek").status_code for _ in range(3)]
    assert statuses == [403, 403, 403]


def test_a_revoked_token_is_refused_on_a_cache_hit() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    refresh = JWESessionConfig(key=generate_jwk("A256KW"), name="refresh", clock=FakeClock(NOW))
    app = app_for(config, refresh=refresh, store=MemoryStore())
    token = mint(config, {"sub": "ada", "scope": ["read"]})
    with client(app, token) as thief:
        assert thief.get("/peek").status_code == 200
        assert thief.get("/peek").json()["kind"] == "full"  # with a store: full reads
    with client(app, token) as owner:
        assert owner.post("/logout").status_code == 200  # revokes the token
    with client(app, token) as thief:
        refused = thief.get("/peek")
    assert refused.status_code == 401


class Claims(msgspec.Struct):
    sub: str
    scope: list[str]


def test_typed_claims_are_admitted_as_the_struct_and_mismatches_refused_every_time() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW), claims=Claims)

    @get("/who", guards=[requires_scopes("read")])
    async def who(request: Request[Any, Any, Any]) -> dict[str, Any]:
        claims = request.auth
        assert isinstance(claims, Claims)
        return {"sub": claims.sub, "kind": read_kind(request)}

    app = Litestar([who], plugins=[JWTSessionPlugin(access=config)])
    good = mint(config, {"sub": "ada", "scope": ["read"]})
    with client(app, good) as test_client:
        assert test_client.get("/who").json() == {"sub": "ada", "kind": "full"}
        assert test_client.get("/who").json() == {"sub": "ada", "kind": "cached"}
    errors: list[str] = []
    config.hooks.on_error(lambda event: errors.append(event.error.code))
    bad = mint(config, {"sub": 42, "scope": ["read"]})
    with client(app, bad) as test_client:
        statuses = [test_client.get("/who").status_code for _ in range(2)]
    assert statuses == [401, 401]
    assert errors == [ErrorCode.CLAIMS_CONVERSION] * 2


def test_two_guards_share_one_admission(monkeypatch: pytest.MonkeyPatch) -> None:
    config, counted, token = counted_setup(monkeypatch)
    with client(app_for(config), token) as test_client:
        test_client.get("/peek")
        response = test_client.get("/session")  # requires_session() and requires_scopes("read")
    assert response.status_code == 200
    assert response.json()["same_claims"] is True
    assert counted.calls == 1


async def test_a_split_cookie_header_is_read_like_a_joined_one() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(config, {"sub": "ada", "scope": ["read"]})
    app = app_for(config)
    # HTTP/2 may send several Cookie headers; test clients join them, so call the app directly
    headers = [(b"cookie", b"theme=dark"), (b"cookie", f"access={token}".encode())]
    kinds = []
    for _ in range(2):
        status, body = await raw_get(app, "/peek", headers)
        assert status == 200
        assert msgspec.json.decode(body)["auth"]["sub"] == "ada"
        kinds.append(msgspec.json.decode(body)["kind"])
    assert kinds == ["full", "cached"]


async def raw_get(app: Litestar, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "2",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver.local", 443),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return sent[0]["status"], body


@dataclasses.dataclass(frozen=True)
class Policy:
    """A session policy as the plugin's runtime provides it (see ``session.policy``)."""

    configs: tuple[Any, ...] = ()
    csrf_sessions: frozenset[str] = frozenset()
    store: Any = None
    fallback: str | None = None
    lifetime: Any = None

    async def refresh_fallback(self, event: Any) -> None:
        return None

    async def renew(self, event: Any) -> None:
        return None


def test_the_cached_read_declines_what_it_cannot_decide() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(config, {"sub": "ada"})
    config.codec.decode(token, now=NOW)  # cached

    def cached(*headers: tuple[bytes, bytes], policy: Policy = Policy(), method: str = "GET") -> Any:
        context = RequestContext(policy, list(headers), None, method, True)
        return context.cached_claims(config)

    cookie = (b"cookie", f"access={token}".encode())
    assert cached(cookie)["sub"] == "ada"
    assert cached() is None  # no cookie
    assert cached((b"cookie", b"access=other")) is None  # not cached
    assert cached(cookie, (b"x-access-session", b"t")) is None  # the session header wins
    assert cached(cookie, (b"cookie", b"theme=dark"))["sub"] == "ada"  # a split Cookie header
    assert cached(cookie, (b"accept", b"a"), (b"accept", b"b")) is not None
    assert cached((b"cookie", b"access=__chunked__2")) is None
    assert cached(cookie, policy=Policy(store=object())) is None  # revocation needs the full read
    csrf = Policy(csrf_sessions=frozenset({"access"}))
    assert cached(cookie, policy=csrf, method="POST") is None  # a CSRF check to make
    assert cached(cookie, policy=csrf, method="GET") is not None
    later = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW + 60))
    later.codec.decode(token, now=NOW)
    context = RequestContext(Policy(), [cookie], None, "GET", True)
    assert context.cached_claims(later) is None  # outside its time window


def test_a_token_cached_under_old_keys_is_refused_after_a_rekey() -> None:
    old = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(old, {"sub": "ada", "scope": ["read"]})
    with client(app_for(old), token) as test_client:
        assert test_client.get("/peek").status_code == 200
        assert test_client.get("/peek").json()["kind"] == "cached"
    rekeyed = JWSSessionConfig(key=generate_jwk("HS256"), name="access", clock=FakeClock(NOW))
    errors: list[str] = []
    rekeyed.hooks.on_error(lambda event: errors.append(event.error.code))
    with client(app_for(rekeyed), token) as test_client:
        refused = test_client.get("/peek")
    assert refused.status_code == 401
    assert errors == [ErrorCode.JWS_SIGNATURE_INVALID]


# --------------------------------------------------------------------------- same outcome as the full read


def first_and_cached(app: Litestar, token: str, method: str, path: str) -> tuple[Any, Any]:
    """The same request twice: the first takes the full read, the second the cached admission."""
    with client(app, token) as test_client:
        return test_client.request(method, path), test_client.request(method, path)


def test_a_handler_reading_with_a_modified_copy_of_the_config_gets_the_guards_session() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    expired: list[Any] = []
    config.hooks.on_expire(lambda event: expired.append(event.session.id))

    @get("/copy", guards=[requires_session()])
    async def read_with_copy(request: Request[Any, Any, Any]) -> dict[str, Any]:
        kind = read_kind(request)
        # sessions go by name: a copy with another clock shares the session the guard read
        session = await use_jws_session(request, dataclasses.replace(config, clock=FakeClock(NOW + 120)))
        return {"kind": kind, "valid": session.is_valid}

    app = Litestar([read_with_copy], plugins=[JWTSessionPlugin(access=config)])
    full, cached = first_and_cached(app, mint(config, {"sub": "ada"}), "GET", "/copy")
    assert full.json() == {"kind": "full", "valid": True}
    assert cached.json() == {"kind": "cached", "valid": True}
    assert "set-cookie" not in full.headers
    assert "set-cookie" not in cached.headers
    assert expired == []


def test_a_guard_on_a_modified_copy_of_the_config_hands_the_session_its_config() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    with_max_age = dataclasses.replace(config, max_age=3600)

    @post("/renew", guards=[requires_session(with_max_age)], status_code=200)
    async def renew(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        await access.update({"renewed": True})
        return {"guard_config": access.config is with_max_age, "expires_at": access.expires_at}

    app = Litestar([renew], plugins=[JWTSessionPlugin(access=config)])
    full, cached = first_and_cached(app, mint(config, {"sub": "ada"}), "POST", "/renew")
    expected = {"guard_config": True, "expires_at": (int(NOW) + 3600) * 1000}
    assert full.json() == expected
    assert cached.json() == expected
    assert "Expires=" in full.headers["set-cookie"]
    assert "Expires=" in cached.headers["set-cookie"]


def test_claims_changed_by_a_user_lookup_do_not_reach_the_session() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))

    async def retrieve_user(claims: dict[str, Any], connection: Any) -> object:
        user = claims["user"] = object()  # kept on the claims, and not JSON
        return user

    @post("/touch", guards=[requires_session()], status_code=200)
    async def touch(access: NamedDependency[Session[Any]]) -> dict[str, Any]:
        keys = sorted(access.data)
        await access.update({"seen": True})
        return {"keys": keys, "updated": sorted(access.data)}

    app = Litestar([touch], plugins=[JWTSessionPlugin(access=config, retrieve_user_handler=retrieve_user)])
    full, cached = first_and_cached(app, mint(config, {"sub": "ada"}), "POST", "/touch")
    assert full.json() == {"keys": ["sub"], "updated": ["seen", "sub"]}
    assert cached.json() == full.json()


def test_a_handler_changing_request_auth_does_not_change_the_session() -> None:
    config = JWSSessionConfig(key=HS256, name="access", clock=FakeClock(NOW))
    token = mint(config, {"sub": "ada"})

    @get("/auth", guards=[requires_session()])
    async def change_auth(request: Request[Any, Any, Any]) -> dict[str, Any]:
        request.auth["jti"] = "spoofed"
        request.auth["extra"] = 1
        session = await use_jws_session(request, config)
        return {"id": session.id, "data": session.data}

    app = Litestar([change_auth], plugins=[JWTSessionPlugin(access=config)])
    full, cached = first_and_cached(app, token, "GET", "/auth")
    assert full.json()["id"] != "spoofed"
    assert full.json()["data"] == {"sub": "ada"}
    assert cached.json() == full.json()
