"""Plugins for the whole suite: pytester (tests/testing drives pytest runs of its own) and the
library's own pytest plugin, which an installed checkout loads through its entry point and a bare
one (``PYTHONPATH=.``) through this line; either way it is loaded once."""

pytest_plugins = ("pytester", "litestar_jwtsession_pytest")
