"""Session-wide generated keys: RSA generation costs tens of milliseconds each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from litestar_jwtsession.jose import JWK, KeyPair, generate_jwk
from tests.pbes2_support import derivations  # noqa: F401  # a fixture, shared with tests/{jose,security}

if TYPE_CHECKING:
    from collections.abc import Callable

_CACHE: dict[str, JWK | KeyPair] = {}


def _key(alg: str) -> JWK | KeyPair:
    if alg not in _CACHE:
        _CACHE[alg] = generate_jwk(alg, kid=f"kid-{alg}")
    return _CACHE[alg]


@pytest.fixture(scope="session")
def pair_for() -> Callable[[str], KeyPair]:
    """``pair_for(alg)``: the run's generated KeyPair for an asymmetric algorithm."""

    def get(alg: str) -> KeyPair:
        key = _key(alg)
        assert isinstance(key, KeyPair)
        return key

    return get


@pytest.fixture(scope="session")
def oct_for() -> Callable[[str], JWK]:
    """``oct_for(alg)``: the run's generated oct JWK for a symmetric algorithm."""

    def get(alg: str) -> JWK:
        key = _key(alg)
        assert isinstance(key, dict)
        return key

    return get
