"""The protected header of a compact token, read without verifying anything.

Used wherever a token's header must be looked at before (or instead of) opening it: key-lookup
hooks, the command line. The limits are those of the codecs: the token's length is bounded before
anything is decoded, and the header is decoded by msgspec into a type of bounded nesting, so a
hostile header is refused in C before it can exhaust the stack.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from joserfc.util import urlsafe_b64decode

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text

__all__ = ("MAX_HEADER_DEPTH", "MAX_TOKEN_SIZE", "parse_protected_header")

MAX_TOKEN_SIZE = 65536
"""The longest token read by default, in characters (the configs' ``max_token_size``)."""
MAX_HEADER_DEPTH = 8
"""How deeply a protected header's arrays and objects may nest. A header nests little: a JWK in
``jwk``/``epk`` makes 4 levels with RSA ``oth``."""

_SEGMENTS = {"JWS": 3, "JWE": 5}
_INVALID = {"JWS": ErrorCode.JWS_INVALID, "JWE": ErrorCode.JWE_INVALID}


def _json_object_type(depth: int) -> Any:
    """The msgspec type of a JSON object whose arrays and objects nest at most ``depth`` levels."""
    value: Any = str | int | float | bool | None
    for _ in range(depth - 1):
        value = str | int | float | bool | None | list[value] | dict[str, value]
    return dict[str, value]


_DECODER = msgspec.json.Decoder(_json_object_type(MAX_HEADER_DEPTH))


def parse_protected_header(
    token: str,
    kind: Literal["JWS", "JWE"] | None = None,
    *,
    max_token_size: int = MAX_TOKEN_SIZE,
) -> dict[str, Any]:
    """The protected header of the compact ``token``, NOT verified.

    ``kind`` is the token type expected: a JWS has 3 dot-separated segments, a JWE 5. ``None``
    accepts either and takes the kind from the segment count.

    Raises:
        SessionError: ``ERR_TOKEN_TOO_LARGE`` for a token longer than ``max_token_size``
            characters; ``ERR_JWS_INVALID`` / ``ERR_JWE_INVALID`` (by ``kind``, or by the segment
            count) for anything else: not a string, the wrong number of segments, a header that is
            not base64url-encoded JSON, not an object, or nesting deeper than
            :data:`MAX_HEADER_DEPTH`. Nothing else is raised.
    """
    name = kind or "JWS"
    if not isinstance(token, str):
        raise SessionError(_INVALID[name], f"{name} must be a string")
    if len(token) > max_token_size:
        raise SessionError(ErrorCode.TOKEN_TOO_LARGE, f"token exceeds {max_token_size} characters")
    parts = token.split(".")
    if kind is None:
        if len(parts) not in (3, 5):
            raise SessionError(
                ErrorCode.JWS_INVALID,
                f"Invalid token: a JWS has 3 dot-separated segments and a JWE 5, this one has {len(parts)}",
            )
        name = "JWE" if len(parts) == 5 else "JWS"
    elif len(parts) != _SEGMENTS[kind]:
        raise SessionError(_INVALID[kind], f"Invalid {kind}: must contain {_SEGMENTS[kind]} segments")
    try:
        header: dict[str, Any] = _DECODER.decode(urlsafe_b64decode(parts[0].encode("ascii")))
    except msgspec.ValidationError as exc:
        raise SessionError(
            _INVALID[name],
            f"Invalid {name}: the protected header is not a JSON object nesting at most "
            f"{MAX_HEADER_DEPTH} levels ({safe_text(exc)})",
        ) from exc
    # binascii, msgspec and unicode errors are all ValueErrors; RecursionError only if the stack
    # was nearly exhausted already
    except (ValueError, RecursionError) as exc:
        raise SessionError(
            _INVALID[name], f"Invalid {name}: the protected header is not base64url-encoded JSON"
        ) from exc
    return header
