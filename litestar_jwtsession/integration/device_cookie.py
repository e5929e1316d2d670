"""The rotation grace window's client key: a device cookie that a thief does not have.

Browsers race: every tab of one browser presents the same refresh token when the access token
lapses, and the rotation gives each of them the same successor within ``rotation_grace`` seconds,
provided the request comes from "the same client". A random ``HttpOnly`` cookie, written with the
refresh cookie, tells that apart; the User-Agent, which anyone can copy, does not.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar.connection import ASGIConnection

    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.session import Session

__all__ = ("DeviceCookie", "user_agent_client_key")


def user_agent_client_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The User-Agent as a client key: only for refresh sessions without a cookie (guessable)."""
    return connection.headers.get("user-agent", "")


_DEVICE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


class DeviceCookie:
    """A random ``HttpOnly`` cookie naming one browser, the default rotation client key.

    Written as ``<refresh name>-device`` whenever the refresh cookie is (same attributes, same
    expiry; an existing value is kept) and expired with it. An attacker who stole a refresh token
    has no way to learn it (it is ``HttpOnly``, random, and never in a token), so replaying a
    rotated token within the grace window counts as reuse instead of yielding the successor.
    A request without a valid device cookie (one issued before this existed) has the key ``""``.
    """

    __slots__ = ("name", "session_name", "spec")

    def __init__(self, config: SessionConfig[Any]) -> None:
        if config.cookie_spec is None:
            raise ValueError("a device cookie goes with a refresh session kept in a cookie")
        self.session_name = config.name
        self.name = f"{config.name}-device"
        self.spec = config.cookie_spec

    def client_key(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        value = connection.cookies.get(self.name, "")
        return value if _DEVICE_VALUE.fullmatch(value) else ""

    def set_cookie_headers(
        self, sessions: Mapping[str, Session[Any]], cookies: Mapping[str, str]
    ) -> list[str]:
        """The device cookie's Set-Cookie when the response sets or clears the refresh cookie."""
        session = sessions.get(self.session_name)
        action = None if session is None else session.cookie_action
        if session is None or action is None:
            return []
        if action == "clear" or session.token is None:
            return [self.spec.render_companion_clear(self.name, readable=False)]
        value = cookies.get(self.name, "")
        if not _DEVICE_VALUE.fullmatch(value):
            value = secrets.token_urlsafe(32)
        return [self.spec.render_companion(self.name, value, session.cookie_expires, readable=False)]
