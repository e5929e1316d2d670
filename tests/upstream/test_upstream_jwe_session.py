"""Upstream group A, "jwe session" (spec §6 tests 1-10)."""

from typing import Any

import pytest

from litestar_jwtsession import JWESessionConfig, update_jwe_session, use_jwe_session

from . import _basic
from ._support import Counter, Flavor, seal_with_joserfc


@pytest.fixture
def jwe(jwe_oct_key: dict[str, Any]) -> Flavor:
    counter = Counter()

    def make(**overrides: Any) -> JWESessionConfig[Any]:
        fields: dict[str, Any] = {
            "name": "h3-jwe-test",
            "key": jwe_oct_key,
            "generate_id": counter,
            "session_header": "Authorization",
        }
        return JWESessionConfig(**(fields | overrides))

    return Flavor(
        kind="jwe",
        name="h3-jwe-test",
        use=use_jwe_session,
        update=update_jwe_session,
        config=make(),
        make=make,
        forge=lambda claims: seal_with_joserfc(claims, jwe_oct_key),
    )


def test_01_initiates_session(jwe: Flavor) -> None:
    _basic.initiates_session(jwe)


def test_02_gets_same_session_back(jwe: Flavor) -> None:
    _basic.gets_same_session_back(jwe)


def test_03_set_session_data(jwe: Flavor) -> None:
    _basic.set_session_data(jwe)


def test_04_gets_same_session_back_concurrent(jwe: Flavor) -> None:
    _basic.gets_same_session_back_concurrent(jwe)


def test_05_stores_large_data_in_chunks(jwe: Flavor) -> None:
    _basic.stores_large_data_in_chunks(jwe)


def test_06_accepts_token_from_authorization_header(jwe: Flavor) -> None:
    _basic.accepts_token_from_authorization_header(jwe)


def test_07_retrieves_the_raw_session_token(jwe: Flavor) -> None:
    _basic.retrieves_raw_session_token(jwe)


def test_08_updates_created_at_on_session_update(jwe: Flavor) -> None:
    _basic.updates_created_at_on_session_update(jwe)


def test_09_token_is_the_updated_token_even_with_cookie_false(jwe: Flavor) -> None:
    _basic.token_is_updated_token_with_cookie_false(jwe)


def test_10_update_throws_on_read_only_connection_with_cookies(jwe: Flavor) -> None:
    _basic.update_throws_on_read_only_connection(jwe)
