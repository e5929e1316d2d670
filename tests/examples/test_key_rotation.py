"""The key rotation example (examples/key_rotation/app.py): old tokens survive a rotation,
tokens with an unknown kid are refused through ``on_error``."""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import TestClient

from examples.key_rotation import app as example
from litestar_jwtsession import KeyPair, generate_jwk
from litestar_jwtsession.testing import assert_session_cookies, log_in

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from litestar import Litestar

BASE_URL = "https://testserver.local"
ACCESS, REFRESH = example.ACCESS_SESSION, example.REFRESH_SESSION


def header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]


def client_for(app: Litestar) -> TestClient[Litestar]:
    return TestClient(app, base_url=BASE_URL)


def login(app: Litestar) -> dict[str, str]:
    """The tokens of ada's two sessions, issued with ``app``'s keys (without its login route)."""
    with client_for(app) as client:
        return {name: log_in(client, {"sub": "ada"}, session=name).token for name in (ACCESS, REFRESH)}


def profile(app: Litestar, **cookie_values: str) -> httpx.Response:
    with client_for(app) as client:
        cookie = "; ".join(f"{name}={value}" for name, value in cookie_values.items())
        return client.get("/profile", headers={"cookie": cookie})


@pytest.fixture
def ring() -> example.KeyRing:
    return example.new_key_ring()


class Rejections(logging.Handler):
    """Collects the example's ``on_error`` log lines (Litestar's logging set-up replaces root
    handlers at start-up, so pytest's ``caplog`` does not see them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def rejections() -> Iterator[list[str]]:
    handler = Rejections()
    logger = logging.getLogger(example.__name__)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def test_tokens_carry_the_current_kids(ring: example.KeyRing) -> None:
    with client_for(example.create_app(ring)) as client:
        response = client.post("/login", json={"username": "ada"})
    assert response.status_code == 201, response.text
    written = assert_session_cookies(response, set={ACCESS, REFRESH})
    tokens = {name: cookie.value for name, cookie in written.items()}

    assert header(tokens[ACCESS])["kid"] == ring.access.public_key["kid"]  # type: ignore[index]
    assert header(tokens[ACCESS])["alg"] == "ES256"
    assert header(tokens[REFRESH])["kid"] == ring.refresh_kid
    assert header(tokens[REFRESH])["alg"] == "A256KW"


def test_access_token_signed_with_the_old_key_still_verifies_after_rotation(ring: example.KeyRing) -> None:
    old_tokens = login(example.create_app(ring))
    rotated = example.rotate(ring)
    app = example.create_app(rotated)

    response = profile(app, **{ACCESS: old_tokens[ACCESS]})

    assert response.status_code == 200, response.text
    assert response.json() == {"user": "ada"}
    # new logins are signed with the new key
    assert header(login(app)[ACCESS])["kid"] == rotated.access.public_key["kid"]  # type: ignore[index]


def test_old_refresh_token_opens_through_the_key_lookup_hook(ring: example.KeyRing) -> None:
    old_tokens = login(example.create_app(ring))
    rotated = example.rotate(ring)

    # no access token: the plugin re-issues it from the (old-key) refresh session
    response = profile(example.create_app(rotated), **{REFRESH: old_tokens[REFRESH]})

    assert response.status_code == 200, response.text
    reissued = assert_session_cookies(response, set={ACCESS})[ACCESS].value
    assert header(reissued)["kid"] == rotated.access.public_key["kid"]  # type: ignore[index]


def test_access_token_with_an_unknown_kid_is_refused(ring: example.KeyRing, rejections: list[str]) -> None:
    stranger = generate_jwk("ES256", kid="not-in-the-ring")
    assert isinstance(stranger, KeyPair)
    forged = login(
        example.create_app(
            example.KeyRing(access=stranger, refresh_keys=ring.refresh_keys, refresh_kid=ring.refresh_kid)
        )
    )

    response = profile(example.create_app(ring), **{ACCESS: forged[ACCESS]})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    messages = rejections
    assert len(messages) == 1
    assert messages[0].startswith(f"{ACCESS}: token refused (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)")
    assert "not-in-the-ring" in messages[0]


def test_refresh_token_with_an_unknown_kid_is_refused(ring: example.KeyRing, rejections: list[str]) -> None:
    other = example.new_key_ring()  # same algorithms, different refresh key and kid
    foreign = login(example.create_app(other))

    response = profile(example.create_app(ring), **{REFRESH: foreign[REFRESH]})

    assert response.status_code == 401
    assert not [
        h for h in response.headers.get_list("set-cookie") if h.startswith(f"{ACCESS}=")
    ]  # not re-issued
    messages = rejections
    assert len(messages) == 1
    assert messages[0].startswith(f"{REFRESH}: token refused (ERR_KEY_LOOKUP_FAILED)")
    assert other.refresh_kid in messages[0]


def test_a_retired_key_stops_verifying(ring: example.KeyRing, rejections: list[str]) -> None:
    old_tokens = login(example.create_app(ring))
    twice = example.rotate(example.rotate(ring))  # keeps one previous key: the first one is gone

    assert len(twice.previous_access) == 1
    response = profile(example.create_app(twice), **{ACCESS: old_tokens[ACCESS]})

    assert response.status_code == 401
    assert "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" in rejections[0]


def test_jwks_endpoint_lists_current_and_previous_public_keys(ring: example.KeyRing) -> None:
    rotated = example.rotate(ring)

    with client_for(example.create_app(rotated)) as client:
        key_set = client.get("/.well-known/jwks.json").json()

    kids = [jwk["kid"] for jwk in key_set["keys"]]
    assert kids == [rotated.access.public_key["kid"], ring.access.public_key["kid"]]  # type: ignore[index]
    assert all("d" not in jwk and "k" not in jwk for jwk in key_set["keys"])
    assert rotated.refresh_kid not in kids


def test_login_needs_a_username(ring: example.KeyRing) -> None:
    with client_for(example.create_app(ring)) as client:
        assert client.post("/login", json={}).status_code == 400
        assert client.post("/login", content=b"not json").status_code == 400
