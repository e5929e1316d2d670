"""The ``litestar_jwtsession`` logger: one record per meaningful event, at the documented level,
with structured ``extra`` fields, and never a token, a key, a CSRF value or a claim value."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from litestar_jwtsession import (
    ConfigurationError,
    HookEvent,
    JWSSessionConfig,
    JWTSessionPlugin,
    Session,
    generate_jwk,
)
from litestar_jwtsession.session.events import EVENT_LEVELS, SessionEvent, Telemetry, Tracing
from tests.helpers import FakeClock, decrypt_jwe, jws_claims, token_header
from tests.stores.common import (
    ACCESS_KEY,
    ACCESS_MAX_AGE,
    DEVICE_COOKIE,
    REFRESH_KEY,
    call,
    client,
    device_of,
    log_in,
    make_app,
    make_configs,
    set_cookies,
)

DEBUG, INFO, WARNING = logging.DEBUG, logging.INFO, logging.WARNING
CANARY_SUB = "CANARY-subject-5e1f0a"


def events(log: pytest.LogCaptureFixture) -> list[tuple[int, str, dict[str, Any]]]:
    """``(level, event, fields)`` of each record, the fields read from the record's ``extra``."""
    result = []
    for record in log.records:
        fields = {
            name.removeprefix("jwtsession_"): value
            for name, value in vars(record).items()
            if name.startswith("jwtsession_") and name != "jwtsession_event"
        }
        result.append((record.levelno, record.jwtsession_event, fields))
    return result


async def test_a_refused_token_is_one_debug_record_with_its_code_and_session(
    library_log: pytest.LogCaptureFixture,
) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh)
    async with client(app) as http:
        token, _ = await log_in(http)
        library_log.clear()
        assert (await call(http, "GET", "/me", access=token)).status_code == 200
        assert library_log.records == []  # a valid token is no event
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(http, "GET", "/me", access=token)).status_code == 401
        assert (await call(http, "GET", "/me", access="not.a.token")).status_code == 401
    assert events(library_log) == [
        (DEBUG, "token_refused", {"session": "access", "code": "ERR_JWT_EXPIRED"}),
        (DEBUG, "token_refused", {"session": "access", "code": "ERR_JWS_INVALID"}),
    ]
    record = library_log.records[0]
    assert record.name == "litestar_jwtsession"
    assert record.getMessage() == "session 'access': incoming token refused (ERR_JWT_EXPIRED)"


async def test_nothing_is_recorded_below_the_loggers_level(library_log: pytest.LogCaptureFixture) -> None:
    logging.getLogger("litestar_jwtsession").setLevel(logging.INFO)
    access, refresh, clock = make_configs()
    app = make_app(access, refresh)
    async with client(app) as http:
        clock.now += 1
        assert (await call(http, "GET", "/me", access="not.a.token")).status_code == 401
    assert library_log.records == []


async def test_the_refresh_fallback_reports_its_outcome(library_log: pytest.LogCaptureFixture) -> None:
    access, refresh, clock = make_configs()
    vetoed: list[bool] = []

    @access.hooks.on_refresh
    def veto(event: HookEvent) -> Any:
        return False if vetoed else None

    app = make_app(access, refresh)
    async with client(app) as http:
        _, refresh_token = await log_in(http)
        library_log.clear()
        clock.now += ACCESS_MAX_AGE + 1  # the browser dropped the lapsed access cookie
        assert (await call(http, "GET", "/me", refresh=refresh_token)).status_code == 200
        vetoed.append(True)
        assert (await call(http, "GET", "/me", refresh=refresh_token)).status_code == 401
    assert events(library_log) == [
        (DEBUG, "refresh", {"session": "access", "outcome": "reissued"}),
        (DEBUG, "refresh", {"session": "access", "outcome": "vetoed"}),
    ]
    assert library_log.records[0].getMessage() == "session 'access': refresh fallback reissued"


async def test_rotation_replay_and_reuse_are_reported(library_log: pytest.LogCaptureFixture) -> None:
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=MemoryStore())
    async with client(app) as user, client(app, "thief") as thief:
        _, token = await log_in(user)
        library_log.clear()
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(user, "GET", "/me", refresh=token)).status_code == 200  # rotates
        assert (await call(user, "GET", "/me", refresh=token)).status_code == 200  # a racing tab
        assert (await call(thief, "GET", "/me", refresh=token)).status_code == 401  # reuse
    reused = {"session": "refresh", "code": "ERR_REFRESH_TOKEN_REUSED"}
    assert events(library_log) == [
        (DEBUG, "rotation", {"session": "refresh", "outcome": "rotated"}),
        (DEBUG, "refresh", {"session": "access", "outcome": "reissued"}),
        (DEBUG, "rotation", {"session": "refresh", "outcome": "replayed"}),
        (DEBUG, "refresh", {"session": "access", "outcome": "reissued"}),
        (WARNING, "reuse_detected", reused),
        (DEBUG, "token_refused", reused),
    ]


async def test_logout_and_revoke_subject_are_revocations(library_log: pytest.LogCaptureFixture) -> None:
    access, refresh, _ = make_configs()
    app = make_app(access, refresh, store=MemoryStore())
    async with client(app) as http:
        access_token, refresh_token = await log_in(http)
        library_log.clear()
        response = await call(http, "POST", "/logout", access=access_token, refresh=refresh_token)
        assert response.status_code == 200
        access_token, _ = await log_in(http, "grace")
        response = await call(http, "POST", "/logout-everywhere", access=access_token)
        assert response.status_code == 200
    assert events(library_log) == [
        (INFO, "revocation", {"session": "access", "count": 1}),
        (INFO, "revocation", {"session": "refresh", "count": 1}),
        (INFO, "subject_revocation", {"session": "access"}),
        (INFO, "subject_revocation", {"session": "refresh"}),
    ]
    assert library_log.records[0].getMessage() == "session 'access': clear() revoked 1 token(s)"


async def test_a_store_outage_is_one_warning_not_one_per_request(
    library_log: pytest.LogCaptureFixture, unreachable_store: RedisStore
) -> None:
    access, refresh, _ = make_configs()
    # (device sessions off: they would make the login itself need the store)
    app = make_app(access, refresh, store=unreachable_store, store_timeout=1, devices=False)
    async with client(app) as http:
        access_token, refresh_token = await log_in(http)
        for _ in range(3):
            response = await call(http, "GET", "/me", access=access_token, refresh=refresh_token)
            assert response.status_code == 503
    assert events(library_log) == [
        (WARNING, "store_unavailable", {"store": "RedisStore", "error": "ConnectionError"}),
    ]
    assert library_log.records[0].getMessage() == (
        "session store RedisStore unavailable (ConnectionError); "
        "requests that need it answer 503 until it is back"
    )
    assert library_log.records[0].exc_info is None  # no traceback


def secrets_of(*tokens: str) -> set[str]:
    """What must never reach a log record: the tokens, every claim value they carry (the refresh
    tokens decrypted), their header's key id, the keys and the device cookie."""
    found = {token for token in tokens if token}
    for token in found.copy():
        header = token_header(token)
        if "enc" in header:
            claims = decrypt_jwe(token, REFRESH_KEY, alg=header["alg"], enc=header["enc"])[1]
        else:
            claims = jws_claims(token)
        found.update(str(value) for name, value in claims.items() if name not in ("iat", "exp", "scope"))
        found.add(header["kid"])
    found.update(str(value) for value in REFRESH_KEY.values() if len(str(value)) > 8)
    found.update(str(value) for value in (ACCESS_KEY.private_key or {}).values() if len(str(value)) > 8)
    found.add(device_of("browser-1"))
    return found


def assert_no_secret(records: list[logging.LogRecord], secrets: set[str]) -> None:
    assert records
    for record in records:
        seen = " ".join([record.getMessage(), repr(record.args), repr(vars(record))])
        leaked = [secret for secret in secrets if secret in seen]
        assert leaked == [], f"{record.getMessage()!r} holds {leaked}"


async def test_no_record_holds_a_token_a_claim_value_or_a_key(library_log: pytest.LogCaptureFixture) -> None:
    """Every event of the flow (refused, refresh, rotation, reuse, revocation) with a recognisable
    subject; each record's message, args and fields are searched for every secret seen."""
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=MemoryStore())
    tokens: list[str] = []
    async with client(app) as user, client(app, "thief") as thief:
        first_access, first_refresh = await log_in(user, CANARY_SUB)
        tokens += [first_access, first_refresh]
        clock.now += ACCESS_MAX_AGE + 1
        response = await call(user, "GET", "/me", access=first_access, refresh=first_refresh)
        tokens += set_cookies(response).values()
        await call(thief, "GET", "/me", refresh=first_refresh)
        second_access, second_refresh = await log_in(user, CANARY_SUB)
        tokens += [second_access, second_refresh]
        await call(user, "POST", "/logout", access=second_access, refresh=second_refresh)
    assert {record.jwtsession_event for record in library_log.records} >= {
        "token_refused",
        "refresh",
        "rotation",
        "reuse_detected",
        "revocation",
    }
    secrets = secrets_of(*tokens)
    assert CANARY_SUB in secrets
    assert_no_secret(library_log.records, secrets)


async def test_a_csrf_refusal_names_the_code_not_the_values(library_log: pytest.LogCaptureFixture) -> None:
    config = JWSSessionConfig(key=generate_jwk("HS256"), name="access", csrf=True, clock=FakeClock())
    presented = "CANARY-csrf-header-value"

    @post("/login", status_code=200)
    async def login(access: NamedDependency[Session[Any]]) -> str:
        await access.update({"sub": CANARY_SUB})
        return str(access.csrf_token)

    @post("/change", status_code=200)
    async def change(access: NamedDependency[Session[Any]]) -> bool:
        return access.is_valid

    app = Litestar([login, change], plugins=[JWTSessionPlugin(access=config)])
    async with client(app) as http:
        response = await call(http, "POST", "/login")
        token, csrf = set_cookies(response)["access"], response.text
        http.cookies.clear()
        refused = await http.post("/change", headers={"cookie": f"access={token}", "x-csrf-token": presented})
        assert refused.json() is False
    assert events(library_log) == [
        (DEBUG, "token_refused", {"session": "access", "code": "ERR_CSRF_TOKEN_INVALID"})
    ]
    assert_no_secret(library_log.records, {token, csrf, presented, CANARY_SUB, jws_claims(token)["jti"]})


async def test_an_apps_own_telemetry_receives_the_events() -> None:
    """The protocol is the whole contract: an object with ``emit`` and ``tracing``."""

    class Collect:
        tracing: Tracing | None = None

        def __init__(self) -> None:
            self.seen: list[tuple[SessionEvent, dict[str, Any]]] = []

        def emit(self, event: SessionEvent, /, **fields: Any) -> None:
            self.seen.append((event, fields))

    telemetry = Collect()
    assert isinstance(telemetry, Telemetry)
    access, refresh, clock = make_configs()
    app = make_app(access, refresh, store=MemoryStore(), telemetry=telemetry)
    async with client(app) as http:
        _, refresh_token = await log_in(http)
        clock.now += ACCESS_MAX_AGE + 1
        assert (await call(http, "GET", "/me", refresh=refresh_token)).status_code == 200
    assert telemetry.seen == [
        (SessionEvent.ROTATION, {"session": "refresh", "outcome": "rotated"}),
        (SessionEvent.REFRESH, {"session": "access", "outcome": "reissued"}),
    ]


def test_every_event_has_a_level_and_the_plugin_refuses_what_is_no_telemetry() -> None:
    assert set(EVENT_LEVELS) == set(SessionEvent)
    access, refresh, _ = make_configs()
    with pytest.raises(ConfigurationError, match="telemetry"):
        JWTSessionPlugin(access=access, refresh=refresh, telemetry=logging.getLogger("x"))  # type: ignore[arg-type]
    assert DEVICE_COOKIE == "refresh-device"  # the cookie secrets_of() knows
