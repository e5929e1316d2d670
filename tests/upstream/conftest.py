"""Key fixtures of the upstream suite, generated once per module (spec §6 fixture table).

Password keys are deliberately avoided: PBES2 at 600000 iterations costs ~100 ms per operation.
"""

from __future__ import annotations

from typing import Any

import pytest

from litestar_jwtsession import KeyPair, generate_jwk


@pytest.fixture(scope="module")
def jwe_oct_key() -> dict[str, Any]:
    return generate_jwk("A128KW")


@pytest.fixture(scope="module")
def jws_oct_key() -> dict[str, Any]:
    return generate_jwk("HS256")


@pytest.fixture(scope="module")
def jws_rsa_pair() -> KeyPair:
    return generate_jwk("RS256")


@pytest.fixture(scope="module")
def jwe_lookup_a() -> dict[str, Any]:
    return generate_jwk("A256GCMKW", kid="test-key-1")


@pytest.fixture(scope="module")
def jwe_lookup_b() -> dict[str, Any]:
    return generate_jwk("A256GCMKW", kid="test-key-2")


@pytest.fixture(scope="module")
def jws_lookup_a() -> KeyPair:
    return generate_jwk("RS256", kid="test-key-1")


@pytest.fixture(scope="module")
def jws_lookup_b() -> KeyPair:
    return generate_jwk("RS256", kid="test-key-2")


@pytest.fixture(scope="module")
def jwe_oaep_pair() -> KeyPair:
    return generate_jwk("RSA-OAEP-256")


@pytest.fixture(scope="module")
def jws_array_rsa() -> KeyPair:
    return generate_jwk("RS256", kid="array-key")


@pytest.fixture(scope="module")
def jws_jwkset_rsa() -> KeyPair:
    return generate_jwk("RS256", kid="jwkset-key")
