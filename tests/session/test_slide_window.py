"""Sliding expiry costs nothing before the slide point: the verified-token cache vouches for a
sliding session's token until that point and no longer, so the guards' cached read declines a
token due to slide and the session's full read (which re-issues it) takes over."""

from __future__ import annotations

from typing import Any

import pytest

from litestar_jwtsession import ConfigurationError, JWSSessionConfig, generate_jwk
from litestar_jwtsession.jose.claims import ClaimRules, slide_point, time_window

HS256 = generate_jwk("HS256")
NOW = 1_800_000_000


def test_the_cache_vouches_for_a_sliding_token_until_its_slide_point() -> None:
    config = JWSSessionConfig(key=HS256, max_age=60, slide_after=0.5)
    token = config.encode_token({"jti": "a", "iat": NOW, "exp": NOW + 60})
    assert config.codec.decode(token, now=NOW)["jti"] == "a"  # verified once, cached
    cache = config.codec.cache
    assert cache.payload(token, NOW + 29) is not None
    assert cache.payload(token, NOW + 29.4) is not None  # rounded as the claims are checked
    assert cache.payload(token, NOW + 29.5) is None  # rounds to the slide point
    assert cache.payload(token, NOW + 30) is None
    # past the slide point the token is still valid: the full read gets its claims, no crypto
    assert config.codec.decode(token, now=NOW + 45)["jti"] == "a"
    assert len(cache) == 1


def test_a_token_of_a_config_that_does_not_slide_is_vouched_for_until_its_exp() -> None:
    config = JWSSessionConfig(key=HS256, max_age=60)
    token = config.encode_token({"jti": "a", "iat": NOW, "exp": NOW + 60})
    config.codec.decode(token, now=NOW)
    assert config.codec.cache.payload(token, NOW + 59) is not None


@pytest.mark.parametrize(
    ("claims", "rules", "expected"),
    [
        ({"iat": NOW, "exp": NOW + 60}, ClaimRules(slide_after=0.5), NOW + 30),
        ({"iat": NOW, "exp": NOW + 61}, ClaimRules(slide_after=0.5), NOW + 31),  # whole seconds, up
        ({"iat": NOW, "exp": NOW + 20}, ClaimRules(slide_after=0.5, max_token_age=60), NOW + 10),  # cut short
        ({"iat": NOW}, ClaimRules(slide_after=0.25, max_token_age=60), NOW + 15),  # no exp: the max age
        ({"iat": NOW}, ClaimRules(slide_after=0.5), None),  # no lifetime to slide through
        ({"iat": NOW, "exp": NOW + 60}, ClaimRules(), None),  # does not slide
    ],
)
def test_the_slide_point(claims: dict[str, Any], rules: ClaimRules, expected: int | None) -> None:
    assert slide_point(claims, rules) == expected
    if expected is not None:
        assert time_window(claims, rules)[1] == expected


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), True, "0.5"])
def test_slide_after_is_a_fraction(fraction: Any) -> None:
    with pytest.raises(ConfigurationError, match="slide_after"):
        JWSSessionConfig(key=HS256, max_age=60, slide_after=fraction)


def test_slide_after_needs_max_age() -> None:
    with pytest.raises(ConfigurationError, match="slide_after needs max_age"):
        JWSSessionConfig(key=HS256, slide_after=0.5)
