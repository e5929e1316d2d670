"""Upstream group B, "jws session" (spec §6 tests 11-20): group A with an RS256 key pair."""

from typing import Any

import pytest

from litestar_jwtsession import JWSSessionConfig, KeyPair, update_jws_session, use_jws_session

from . import _basic
from ._support import Counter, Flavor, sign_with_joserfc


@pytest.fixture
def jws(jws_rsa_pair: KeyPair) -> Flavor:
    counter = Counter()

    def make(**overrides: Any) -> JWSSessionConfig[Any]:
        fields: dict[str, Any] = {
            "name": "h3-jws-test",
            "key": jws_rsa_pair,
            "generate_id": counter,
            "session_header": "Authorization",
        }
        return JWSSessionConfig(**(fields | overrides))

    return Flavor(
        kind="jws",
        name="h3-jws-test",
        use=use_jws_session,
        update=update_jws_session,
        config=make(),
        make=make,
        forge=lambda claims: sign_with_joserfc(claims, jws_rsa_pair.private_key),
    )


def test_11_initiates_session(jws: Flavor) -> None:
    _basic.initiates_session(jws)


def test_12_gets_same_session_back(jws: Flavor) -> None:
    _basic.gets_same_session_back(jws)


def test_13_set_session_data(jws: Flavor) -> None:
    _basic.set_session_data(jws)


def test_14_gets_same_session_back_concurrent(jws: Flavor) -> None:
    _basic.gets_same_session_back_concurrent(jws)


def test_15_stores_large_data_in_chunks(jws: Flavor) -> None:
    _basic.stores_large_data_in_chunks(jws)


def test_16_jws_accepts_token_from_authorization_header(jws: Flavor) -> None:
    _basic.accepts_token_from_authorization_header(jws)


def test_17_retrieves_the_raw_session_token(jws: Flavor) -> None:
    _basic.retrieves_raw_session_token(jws)


def test_18_updates_created_at_on_session_update(jws: Flavor) -> None:
    _basic.updates_created_at_on_session_update(jws)


def test_19_token_is_the_updated_token_even_with_cookie_false(jws: Flavor) -> None:
    _basic.token_is_updated_token_with_cookie_false(jws)


def test_20_update_throws_on_read_only_connection_with_cookies(jws: Flavor) -> None:
    _basic.update_throws_on_read_only_connection(jws)
