"""Helpers for testing apps that use litestar-jwtsession (see the docs page "Testing your app").

- :func:`log_in` / :func:`log_out`: give a ``TestClient`` a session without a login route.
- :class:`SessionClock`: a clock the configs of an app share and the test moves by hand.
- :func:`drop_expired_cookies`: the client forgets cookies that lapsed on that clock.
- :func:`csrf_headers`: the CSRF header a page copies from the readable ``-csrf`` cookie.
- :func:`assert_session_cookies`: which sessions a response sets and clears.

They are plain functions and classes; the pytest plugin (loaded through the ``pytest11`` entry
point ``litestar_jwtsession_pytest``) adds the ``session_clock`` fixture.
"""

from litestar_jwtsession.testing.assertions import SessionCookie, assert_session_cookies
from litestar_jwtsession.testing.clock import SessionClock
from litestar_jwtsession.testing.csrf import csrf_headers
from litestar_jwtsession.testing.expiry import drop_expired_cookies
from litestar_jwtsession.testing.login import IssuedSession, log_in, log_out

__all__ = (
    "IssuedSession",
    "SessionClock",
    "SessionCookie",
    "assert_session_cookies",
    "csrf_headers",
    "drop_expired_cookies",
    "log_in",
    "log_out",
)
