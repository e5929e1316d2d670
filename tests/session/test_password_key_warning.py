"""A JWE password key that looks like a file name, or is short, warns when the config is created."""

from __future__ import annotations

import secrets
import warnings

import pytest

from litestar_jwtsession import JWESessionConfig, PasswordKeyWarning, generate_jwk
from litestar_jwtsession.jose.password_checks import MIN_PASSWORD_LENGTH, password_key_problems

FAST = 1000  # PBES2 count: these tests never seal anything


def config_warnings(key: object) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JWESessionConfig(key=key, name="refresh_token", pbes2_iterations=FAST)
    return [item for item in caught if issubclass(item.category, PasswordKeyWarning)]


@pytest.mark.parametrize(
    "password",
    [
        "secrets/refresh-token-password.txt",
        "refresh.KEY",
        "keys/refresh.pem",
        "refresh-session-key.json",
        "access-and-refresh.jwk",
        "/run/secrets/refresh_password",
        "~/.config/app/refresh",
        "./refresh-password-file",
        "C:\\secrets\\refresh-password",
    ],
)
def test_a_file_name_or_path_warns(password: str) -> None:
    (warning,) = config_warnings(password)

    message = str(warning.message)
    assert issubclass(warning.category, UserWarning)
    assert "'refresh_token'" in message
    assert "file" in message
    assert password not in message  # a password key is a secret, even a mistaken one
    assert warning.filename == __file__  # points at the line that created the config


@pytest.mark.parametrize("length", [1, 8, MIN_PASSWORD_LENGTH - 1])
def test_a_short_password_warns(length: int) -> None:
    (warning,) = config_warnings("p" * length)

    assert f"shorter than {MIN_PASSWORD_LENGTH} characters" in str(warning.message)
    assert warning.filename == __file__


def test_a_short_file_name_gets_both_reasons() -> None:
    (warning,) = config_warnings("k.pem")

    assert "'.pem'" in str(warning.message)
    assert "shorter than" in str(warning.message)


@pytest.mark.parametrize(
    "password",
    [
        "p" * MIN_PASSWORD_LENGTH,
        "correct horse battery staple",
        secrets.token_urlsafe(32),
        "a long passphrase / with a slash in it",
        "tr0ub4dor&3-plus-some-more",
        "/Zq8+kT2w9xLp4mV7nR1sB6cY3hJ0aEf5gUiOoWd",  # base64 starting with "/", but with a "+"
    ],
)
def test_a_good_password_does_not_warn(password: str) -> None:
    assert config_warnings(password) == []
    assert password_key_problems(password) == []


def test_keys_that_are_no_passwords_do_not_warn() -> None:
    assert config_warnings(generate_jwk("A256KW")) == []
    assert config_warnings(generate_jwk("RSA-OAEP-256")) == []


def test_the_warning_is_an_error_under_strict_filters() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PasswordKeyWarning)
        with pytest.raises(PasswordKeyWarning):
            JWESessionConfig(key="refresh.pem", pbes2_iterations=FAST)
