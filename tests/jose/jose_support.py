"""Helpers shared by the JOSE layer tests (imported by module name: tests/jose is on sys.path)."""

from __future__ import annotations

from typing import Any

import msgspec
from joserfc.util import json_b64encode, urlsafe_b64decode

NOW = 1_700_000_000.0
IAT = int(NOW)
DROP = object()


def claims(**extra: Any) -> dict[str, Any]:
    """A valid session payload at NOW in unjwt's layout (data, then jti, iat, exp)."""
    return {"sub": "user-1", **extra, "jti": "jti-1", "iat": IAT, "exp": IAT + 60}


def header_of(token: str) -> dict[str, Any]:
    header: dict[str, Any] = msgspec.json.decode(urlsafe_b64decode(token.partition(".")[0].encode()))
    return header


def with_header(token: str, **changes: Any) -> str:
    """``token`` with its protected header edited (``DROP`` removes a member); crypto no longer matches."""
    header = header_of(token)
    for name, value in changes.items():
        if value is DROP:
            header.pop(name, None)
        else:
            header[name] = value
    return json_b64encode(header).decode() + "." + token.partition(".")[2]


def replace_segment(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)
