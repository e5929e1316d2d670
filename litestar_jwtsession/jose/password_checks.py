"""Warnings about a PBES2 password key that is probably a mistake.

A JWE session keyed with a password string takes the string itself as the password. Two mistakes
pass silently otherwise:

- a file name or path given where the file's content was meant (``key="refresh.key"``,
  ``key="/run/secrets/refresh"``): the "password" is then public, and short;
- a short password: every token sealed with it is an offline guessing oracle (PBES2's iteration
  count only slows each guess down).

Each gets a :class:`PasswordKeyWarning` (a ``UserWarning``) when the config is created, pointing
at the line that created it. The password never appears in the message.
"""

from __future__ import annotations

import re
import sys
import warnings

__all__ = (
    "KEY_FILE_SUFFIXES",
    "MIN_PASSWORD_LENGTH",
    "PasswordKeyWarning",
    "password_key_problems",
    "warn_about_password_key",
)

MIN_PASSWORD_LENGTH = 16
"""Password keys shorter than this many characters get a warning."""
KEY_FILE_SUFFIXES = (
    ".pem",
    ".key",
    ".jwk",
    ".json",
    ".txt",
    ".der",
    ".p8",
    ".pk8",
    ".pub",
    ".env",
    ".secret",
)
"""Endings (any case) that make a password key look like a file name."""

# an absolute, home-relative or dot-relative path (POSIX or Windows) made of path characters only;
# a random base64 password rarely starts with "/" and then lacks "+" and "=" as well
_PATH = re.compile(r"(?:~|\.{1,2}|[A-Za-z]:)?[/\\][\w .~/\\-]*")
_PACKAGE = __name__.partition(".")[0]


class PasswordKeyWarning(UserWarning):
    """A JWE password key looks like a file name, or is short. Silence it with
    ``warnings.filterwarnings("ignore", category=PasswordKeyWarning)`` if it is what you mean."""


def password_key_problems(password: str) -> list[str]:
    """What looks wrong with ``password`` as a PBES2 key, in words (empty: nothing)."""
    problems = []
    suffix = next((end for end in KEY_FILE_SUFFIXES if password.lower().endswith(end)), None)
    if suffix is not None:
        problems.append(f"it ends in {suffix!r}, like a file name")
    elif _PATH.fullmatch(password):
        problems.append("it looks like a file path")
    if problems:
        problems[-1] += (
            ": the key is the password itself, not a file to read; pass the file's content "
            "(e.g. Path(...).read_text().strip())"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            f"it is shorter than {MIN_PASSWORD_LENGTH} characters: anyone holding a token it sealed can "
            "guess it offline; use a long random one (e.g. secrets.token_urlsafe(32)) or an A256KW key"
        )
    return problems


def warn_about_password_key(key: object, *, name: str) -> None:
    """Warn (:class:`PasswordKeyWarning`) if ``key`` is a password string that looks like a
    mistake; anything else (a JWK, a ``KeyPair``) passes silently. ``name``: the session's."""
    if not isinstance(key, str):
        return
    problems = password_key_problems(key)
    if problems:
        message = f"session {name!r}: suspicious JWE password key: " + "; ".join(problems)
        warnings.warn(message, PasswordKeyWarning, stacklevel=_stacklevel_outside_package())


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` of the first caller outside this package (and outside the ``__init__``
    that ``dataclasses`` generates), so the warning names the line that created the config."""
    frame = sys._getframe(1)  # warn_about_password_key, which calls warnings.warn: level 1
    level = 1
    while frame.f_back is not None and (
        frame.f_code.co_filename == "<string>"
        or frame.f_globals.get("__name__", "").startswith(_PACKAGE + ".")
    ):
        frame = frame.f_back
        level += 1
    return level
