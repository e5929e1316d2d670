"""The CSRF header a single-page app sends: copied from the readable ``<name>-csrf`` cookie."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_jwtsession.testing._app import app_sessions
from litestar_jwtsession.testing._set_cookie import set_cookies

if TYPE_CHECKING:
    import httpx

    from litestar_jwtsession import JWESessionConfig, JWSSessionConfig

__all__ = ("csrf_headers",)


def csrf_headers(
    client: httpx.Client | httpx.AsyncClient,
    response: httpx.Response | None = None,
    *,
    session: str | JWSSessionConfig[Any] | JWESessionConfig[Any] | None = None,
) -> dict[str, str]:
    """The CSRF header for an unsafe request, as a browser page would build it:
    ``{config.csrf_header: <value of the readable "<name>-csrf" cookie>}``.

    The value comes from ``response`` when it sets that cookie, else from ``client``'s cookie jar.
    ``session`` picks the session whose token is copied (by name or config); by default the first
    CSRF-protected session of the app that has one, the access session first (one token proves
    the whole request). Raises ``AssertionError`` when there is nothing to copy (no CSRF cookie:
    not logged in, or the session is not CSRF-protected in this app)::

        client.post("/logout", headers=csrf_headers(client))
    """
    sessions = app_sessions(client)
    candidates = sessions.csrf_configs(session)
    from_response = {}
    if response is not None:
        from_response = {cookie.name: cookie.value for cookie in set_cookies(response)}
    for config in candidates:
        if not sessions.csrf_on(config):
            raise AssertionError(
                f"session {config.name!r} is not CSRF-protected in this app: "
                "unsafe requests carrying it need no CSRF header"
            )
        name = config.csrf_cookie_name
        value = from_response.get(name)
        if value is None:
            value = next((cookie.value for cookie in client.cookies.jar if cookie.name == name), None)
        if value:
            return {config.csrf_header: value}
    if not candidates:
        raise AssertionError("no session of this app is CSRF-protected: no CSRF header to send")
    names = ", ".join(repr(config.csrf_cookie_name) for config in candidates)
    where = "the response or the client's cookies" if response is not None else "the client's cookies"
    raise AssertionError(f"no CSRF cookie ({names}) in {where}: is the client logged in?")
