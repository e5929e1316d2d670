"""The pytest plugin of litestar-jwtsession, loaded through its ``pytest11`` entry point.

It only defines fixtures, and imports nothing but pytest until a test asks for one of them: a
test suite that never does pays nothing for it, Litestar installed or not. The helpers themselves
live in :mod:`litestar_jwtsession.testing`. Turn the plugin off with
``-p no:litestar_jwtsession_pytest``; with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, turn it on with
``-p litestar_jwtsession_pytest`` (or ``pytest_plugins = ["litestar_jwtsession_pytest"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from litestar_jwtsession.testing import SessionClock

__all__ = ("session_clock",)


@pytest.fixture
def session_clock() -> SessionClock:
    """A litestar_jwtsession.testing.SessionClock at the current time (whole seconds), for the
    ``clock=`` of every session config of the app under test; move it with ``advance()`` or
    ``set()``. A new one per test."""
    from litestar_jwtsession.testing import SessionClock

    return SessionClock()
