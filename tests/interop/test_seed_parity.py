"""The seed example answers as the seed's program does, route by route, side by side with it.

The original (``tests/interop/node/seed-server.mjs``: unjwt's h3 v2 playground with the
``/profile`` and ``/logout`` of unjwt's "refresh token pattern" page) runs on Node, ours
(``examples.seed.app.create_app``) on uvicorn, with the same keys and lifetimes. Every scenario is
played against each from an empty cookie jar, and the answers must be equal once reduced to what
does not depend on the run: the status, the JSON body (each session id replaced by the order in
which it first appeared, times by what they mean), and every ``Set-Cookie`` (name, written or
deleted, attributes, ``Expires`` against the body's ``expiresAt``).

The access lifetime is 2 seconds on both sides, so that the expiry scenarios can wait for it.

Deliberate differences, not compared here: a lapsed access cookie that a client replays without a
refresh session is deleted in the answer (the library's fix of unjwt's G8, ``docs/interop.md``;
pinned below), and credentials must be non-empty strings (the original signs in any truthy JSON
value as the subject, ``{"username": 1, ...}`` or ``["a"]``, and answers 500 to a JSON ``null``;
``tests/examples/test_seed_app.py`` checks our 400s).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from litestar_jwtsession import KeyPair, generate_jwk
from tests.interop._support import Jar, parse_set_cookie
from tests.interop.test_seed_e2e import ThreadedUvicorn, seed_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.interop.conftest import NodeEnv

pytestmark = pytest.mark.interop

ACCESS_MAX_AGE = 2
REFRESH_MAX_AGE = 7 * 24 * 3600
PASSWORD = secrets.token_urlsafe(24)
ALICE = {"username": "alice", "password": "secret"}
SESSION_KEYS = {"id", "createdAt", "expiresAt", "data"}
COOKIE_OF = {"access_token": "accessToken", "refresh_token": "refreshSession"}


@pytest.fixture(scope="module")
def access_key() -> KeyPair:
    key = generate_jwk("RS256")
    assert isinstance(key, KeyPair)
    return key


@pytest.fixture(scope="module")
def clients(node_env: NodeEnv, access_key: KeyPair) -> Iterator[dict[str, httpx.Client]]:
    node = node_env.start(
        "seed-server.mjs",
        {
            "SEED_ACCESS_KEY": json.dumps(
                {"privateKey": access_key.private_key, "publicKey": access_key.public_key}
            ),
            "SEED_REFRESH_PASSWORD": PASSWORD,
            "SEED_ACCESS_MAX_AGE": str(ACCESS_MAX_AGE),
            "SEED_REFRESH_MAX_AGE": str(REFRESH_MAX_AGE),
        },
    )
    try:
        with (
            ThreadedUvicorn(seed_app(access_key, password=PASSWORD, access_max_age=ACCESS_MAX_AGE)) as ours,
            httpx.Client(base_url=node.base_url, timeout=30) as node_client,
            httpx.Client(base_url=f"http://127.0.0.1:{ours.port}", timeout=30) as our_client,
        ):
            yield {"original": node_client, "ours": our_client}
    finally:
        node.stop()


# --------------------------------------------------------------------------------------------------
# one client's view of a scenario


@dataclasses.dataclass
class Visit:
    """A browser visiting one of the two programs: its own jar, and the answers reduced."""

    client: httpx.Client
    jar: Jar = dataclasses.field(default_factory=Jar)
    ids: dict[str, int] = dataclasses.field(default_factory=dict)
    answers: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        drop: tuple[str, ...] = (),
        replay_expired: bool = False,
    ) -> dict[str, Any]:
        """One request with the jar's cookies (a browser leaves out expired ones), minus ``drop``."""
        for name in drop:
            self.jar.cookies.pop(name, None)
        headers = {"cookie": self.jar.header(drop_expired=not replay_expired)}
        if content is not None:
            headers["content-type"] = "application/json"
        self.client.cookies.clear()
        started = time.time()
        response = self.client.request(method, path, headers=headers, json=body, content=content)
        answer = self.reduce(response, started)
        self.jar.apply(response.headers.get_list("set-cookie"))
        self.answers.append(answer)
        return answer

    def reduce(self, response: httpx.Response, started: float) -> dict[str, Any]:
        body = response.json()
        sessions = body if isinstance(body, dict) and "accessToken" in body else {}
        reduced_body = self._body(body, started)
        if isinstance(reduced_body, dict) and isinstance(reduced_body.get("message"), str):
            reduced_body["message"] = reduced_body["message"].replace(str(self.client.base_url), "<base>")
        cookies = [self._cookie(header, sessions) for header in response.headers.get_list("set-cookie")]
        return {"status": response.status_code, "body": reduced_body, "set-cookie": cookies}

    def _body(self, value: Any, started: float) -> Any:
        if isinstance(value, dict) and set(value) <= SESSION_KEYS and "data" in value:
            return self._session(value, started)
        if isinstance(value, dict):
            return {key: self._body(item, started) for key, item in value.items()}
        return value

    def _session(self, session: dict[str, Any], started: float) -> dict[str, Any]:
        reduced: dict[str, Any] = dict(session)
        if "id" in session:
            reduced["id"] = f"id#{self.ids.setdefault(session['id'], len(self.ids) + 1)}"
        created = session.get("createdAt")
        if isinstance(created, int):
            assert created % 1000 == 0, session  # whole seconds, in ms
            assert created <= time.time() * 1000, session
            reduced["createdAt"] = "issued now" if created >= int(started) * 1000 - 1000 else "issued before"
            expires = session.get("expiresAt")
            if isinstance(expires, int):
                reduced["expiresAt"] = f"createdAt + {(expires - created) / 1000:g} s"
        return reduced

    @staticmethod
    def _cookie(header: str, sessions: dict[str, Any]) -> dict[str, Any]:
        cookie = parse_set_cookie(header)
        attributes = dict(cookie.attributes)
        reduced: dict[str, Any] = {"name": cookie.name}
        if cookie.deletes:
            assert cookie.value == "", header
            reduced["deleted"] = True
            attributes.pop("max-age", None)  # h3 deletes with an epoch Expires alone; both delete
            attributes.pop("expires", None)
        else:
            reduced["value"] = "<token>" if cookie.value.count(".") in (2, 4) else cookie.value
            expires = cookie.expires
            described = sessions.get(COOKIE_OF.get(cookie.name, ""), {})
            if expires is not None and isinstance(described.get("expiresAt"), int):
                assert expires == described["expiresAt"] / 1000, (header, described)
                attributes["expires"] = "expiresAt"
        reduced["attributes"] = attributes
        return reduced


def fresh_login(visit: Visit) -> None:
    visit.send("POST", "/login", body=ALICE)


def login_again(visit: Visit) -> None:
    visit.send("POST", "/login", body=ALICE)
    visit.send("POST", "/login")
    visit.send("POST", "/login", body={"username": "bob", "password": "x"})  # still alice


def missing_credentials(visit: Visit) -> None:
    visit.send("POST", "/login")
    visit.send("POST", "/login", body={})
    visit.send("POST", "/login", body={"username": "alice"})
    visit.send("POST", "/login", body={"password": "secret"})
    visit.send("POST", "/login", body={"username": "", "password": "secret"})
    visit.send("POST", "/login", content=b"username=alice&password=secret")
    visit.send("POST", "/login", content=b'["alice", "secret"]')


def access_cookie_only(visit: Visit) -> None:
    visit.send("POST", "/login", body=ALICE)
    visit.send("POST", "/login", drop=("refresh_token",))


def refresh_cookie_only(visit: Visit) -> None:
    # what a client that dropped the access cookie sends: credentials are needed again
    visit.send("POST", "/login", body=ALICE)
    visit.send("POST", "/login", drop=("access_token",))
    visit.send("GET", "/profile")
    visit.send("POST", "/login", body=ALICE)


def profile(visit: Visit) -> None:
    visit.send("GET", "/profile")
    visit.send("POST", "/login", body=ALICE)
    visit.send("GET", "/profile")


def logout(visit: Visit) -> None:
    visit.send("POST", "/login", body=ALICE)
    visit.send("POST", "/logout")
    visit.send("POST", "/login")
    visit.send("GET", "/profile")


def logout_without_session(visit: Visit) -> None:
    visit.send("POST", "/logout")


def no_such_route(visit: Visit) -> None:
    visit.send("GET", "/login")
    visit.send("GET", "/nowhere")


def _wait_past_access_expiry(visit: Visit) -> None:
    expires = max(
        cookie.expires or 0 for cookie in visit.jar.cookies.values() if cookie.name == "access_token"
    )
    time.sleep(max(0.0, expires + 0.3 - time.time()))


def expired_access_replayed(visit: Visit) -> None:
    # a client that replays the expired access cookie: the on_expire hook re-issues it
    visit.send("POST", "/login", body=ALICE)
    _wait_past_access_expiry(visit)
    visit.send("POST", "/login", replay_expired=True)
    visit.send("GET", "/profile")


def expired_access_without_refresh(visit: Visit) -> None:
    visit.send("POST", "/login", body=ALICE)
    _wait_past_access_expiry(visit)
    visit.send("POST", "/login", drop=("refresh_token",), replay_expired=True)
    visit.send("GET", "/profile", replay_expired=True)


def foreign_cookies(visit: Visit) -> None:
    visit.jar.apply(["access_token=not-a-token; Path=/", "refresh_token=not-a-token-either; Path=/"])
    visit.send("POST", "/login")
    visit.send("GET", "/profile")
    visit.send("POST", "/login", body=ALICE)


SCENARIOS = [
    fresh_login,
    login_again,
    missing_credentials,
    access_cookie_only,
    refresh_cookie_only,
    profile,
    logout,
    logout_without_session,
    no_such_route,
    expired_access_replayed,
    foreign_cookies,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.__name__ for scenario in SCENARIOS])
def test_answers_as_the_original(scenario: Callable[[Visit], None], clients: dict[str, httpx.Client]) -> None:
    original, ours = Visit(clients["original"]), Visit(clients["ours"])
    scenario(original)
    scenario(ours)
    for step, (theirs, mine) in enumerate(zip(original.answers, ours.answers, strict=True)):
        assert mine == theirs, f"step {step + 1} of {scenario.__name__}"


def test_a_replayed_lapsed_access_cookie_is_deleted(clients: dict[str, httpx.Client]) -> None:
    """The one difference in cookies: the original keeps a lapsed cookie it could not renew (G8),
    ours deletes it in the same answer; everything else about those answers is the same."""
    original, ours = Visit(clients["original"]), Visit(clients["ours"])
    expired_access_without_refresh(original)
    expired_access_without_refresh(ours)
    deleted = {"name": "access_token", "deleted": True, "attributes": {"path": "/", "secure": ""}}
    assert ours.answers[1]["set-cookie"] == [deleted]
    for step, (theirs, mine) in enumerate(zip(original.answers, ours.answers, strict=True)):
        without = [cookie for cookie in mine["set-cookie"] if cookie != deleted]
        assert {**mine, "set-cookie": without} == theirs, f"step {step + 1}"
