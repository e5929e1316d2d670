from __future__ import annotations

from typing import Any

import pytest
from jose_support import IAT, NOW

from litestar_jwtsession.jose import ClaimRules, ErrorCode, SessionError, validate_claims

BASE: dict[str, Any] = {"jti": "j", "iat": IAT, "exp": IAT + 60}
RULES = ClaimRules()
NAN = float("nan")


def _code(payload: object, rules: ClaimRules = RULES, now: float = NOW) -> ErrorCode:
    with pytest.raises(SessionError) as info:
        validate_claims(payload, rules, now)
    return info.value.code


def test_valid_payload_is_returned() -> None:
    payload = {**BASE, "data": 1}
    assert validate_claims(payload, RULES, NOW) is payload
    # exp, nbf and iat are optional unless required
    assert validate_claims({"jti": "j", "iat": IAT}, RULES, NOW) == {"jti": "j", "iat": IAT}
    assert validate_claims({}, ClaimRules(required=()), NOW) == {}


@pytest.mark.parametrize("payload", [[1, 2], "string", 3, None, True])
def test_payload_must_be_an_object(payload: object) -> None:
    assert _code(payload) is ErrorCode.JWT_PAYLOAD_INVALID


@pytest.mark.parametrize(
    ("payload", "rules", "missing"),
    [
        ({"iat": IAT}, RULES, "jti"),
        ({}, RULES, "jti, iat"),
        ({"jti": None, "iat": IAT}, RULES, "jti"),  # null counts as missing (unjwt's `in` would pass it)
        (BASE, ClaimRules(required=("jti", "iat", "scope")), "scope"),
        (BASE, ClaimRules(issuer="me"), "iss"),
        (BASE, ClaimRules(audience=("a", "b")), "aud"),
        (BASE, ClaimRules(subject="s"), "sub"),
        ({"jti": "j"}, ClaimRules(required=("jti",), max_token_age=10), "iat"),
        ({}, ClaimRules(required=("b", "a"), issuer="x"), "b, a, iss"),
    ],
)
def test_missing_claims(payload: dict[str, Any], rules: ClaimRules, missing: str) -> None:
    with pytest.raises(SessionError) as info:
        validate_claims(payload, rules, NOW)
    assert info.value.code is ErrorCode.JWT_CLAIM_MISSING
    assert info.value.message == f"Missing required JWT Claims: {missing}"


@pytest.mark.parametrize(
    "change",
    [
        {"jti": ""},
        {"jti": 5},
        {"jti": ["j"]},
        {"iat": "1700000000"},
        {"iat": True},
        {"exp": False},
        {"exp": NAN},
        {"exp": float("inf")},
        {"nbf": float("-inf")},
        {"nbf": None},
        {"iat": [IAT]},
    ],
)
def test_claim_types(change: dict[str, Any]) -> None:
    assert _code({**BASE, **change}) is ErrorCode.JWT_CLAIM_INVALID


def test_big_integers_are_numbers() -> None:
    assert validate_claims({**BASE, "exp": 10**400}, RULES, NOW)["exp"] == 10**400


@pytest.mark.parametrize(
    ("change", "rules", "ok"),
    [
        ({"iss": "me"}, ClaimRules(issuer="me"), True),
        ({"iss": "me"}, ClaimRules(issuer=("you", "me")), True),
        ({"iss": "mee"}, ClaimRules(issuer="me"), False),
        ({"iss": ["me"]}, ClaimRules(issuer="me"), False),
        ({"sub": "s"}, ClaimRules(subject="s"), True),
        ({"sub": "t"}, ClaimRules(subject="s"), False),
        ({"aud": "a"}, ClaimRules(audience="a"), True),
        ({"aud": ["x", "a"]}, ClaimRules(audience=("a", "b")), True),
        ({"aud": ["x", "y"]}, ClaimRules(audience=("a", "b")), False),
        ({"aud": "x"}, ClaimRules(audience="a"), False),
        ({"aud": {"a": 1}}, ClaimRules(audience="a"), False),
        ({"aud": [["a"]]}, ClaimRules(audience="a"), False),
    ],
)
def test_identity_claims(change: dict[str, Any], rules: ClaimRules, ok: bool) -> None:
    payload = {**BASE, **change}
    if ok:
        assert validate_claims(payload, rules, NOW) == payload
    else:
        assert _code(payload, rules) is ErrorCode.JWT_CLAIM_INVALID


@pytest.mark.parametrize(
    ("change", "leeway", "code"),
    [
        ({"exp": IAT}, 0, ErrorCode.JWT_EXPIRED),  # exp == now is expired
        ({"exp": IAT + 1}, 0, None),
        ({"exp": IAT}, 1, None),
        ({"exp": IAT - 1}, 1, ErrorCode.JWT_EXPIRED),
        ({"nbf": IAT}, 0, None),
        ({"nbf": IAT + 1}, 0, ErrorCode.JWT_NBF),
        ({"nbf": IAT + 5}, 5, None),
        ({"iat": IAT + 1000}, 0, None),  # a future iat only matters with max_token_age
    ],
)
def test_time_claims(change: dict[str, Any], leeway: int, code: ErrorCode | None) -> None:
    payload = {**BASE, **change}
    rules = ClaimRules(leeway=leeway)
    if code is None:
        assert validate_claims(payload, rules, NOW) == payload
    else:
        assert _code(payload, rules) is code


def test_now_is_rounded_like_unjwt() -> None:
    payload = {**BASE, "exp": IAT + 1}
    assert validate_claims(payload, RULES, NOW + 0.49) == payload
    assert _code(payload, RULES, NOW + 0.5) is ErrorCode.JWT_EXPIRED


def test_expired_error_carries_the_claims() -> None:
    with pytest.raises(SessionError) as info:
        validate_claims({"jti": "j", "iat": IAT - 100, "exp": IAT - 40, "data": 1}, RULES, NOW)
    assert info.value.claims == {"jti": "j", "iat": IAT - 100, "exp": IAT - 40}
    with pytest.raises(SessionError) as info:
        validate_claims({"iat": IAT - 100, "exp": IAT - 40}, ClaimRules(required=()), NOW)
    assert info.value.claims == {"iat": IAT - 100, "exp": IAT - 40}


@pytest.mark.parametrize(
    ("payload", "leeway", "code", "message"),
    [
        ({"jti": "j", "iat": IAT - 10}, 0, None, None),  # exactly max_token_age old: still valid
        ({"jti": "j", "iat": IAT - 11}, 0, ErrorCode.JWT_EXPIRED, "Token is too old"),
        ({"jti": "j", "iat": IAT - 11}, 1, None, None),
        ({"jti": "j", "iat": IAT - 11, "exp": IAT + 100}, 0, ErrorCode.JWT_EXPIRED, "Token is too old"),
        ({"jti": "j", "iat": IAT + 1}, 0, ErrorCode.JWT_CLAIM_INVALID, "in the past"),
        ({"jti": "j", "iat": IAT + 1}, 1, None, None),
        ({"jti": "j", "iat": IAT - 5, "exp": IAT}, 0, ErrorCode.JWT_EXPIRED, '"exp"'),
    ],
)
def test_max_token_age(
    payload: dict[str, Any], leeway: int, code: ErrorCode | None, message: str | None
) -> None:
    rules = ClaimRules(max_token_age=10, leeway=leeway)
    if code is None:
        assert validate_claims(payload, rules, NOW) == payload
        return
    with pytest.raises(SessionError) as info:
        validate_claims(payload, rules, NOW)
    assert info.value.code is code
    assert message is not None
    assert message in info.value.message
    if code is ErrorCode.JWT_EXPIRED:
        assert info.value.claims["jti"] == "j"
        assert info.value.claims["iat"] == payload["iat"]
