"""pytest plugin of ``make test``: a run that skipped any test fails.

``make test`` provisions every service the suite needs (``scripts/services.py``), so a skip there
means a test did not run that should have: the run fails, after pytest's usual report (``-ra``
lists each skip with its reason). Loaded with ``-p scripts.no_skips`` from the repository root;
``make pytest`` runs without it.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = len(reporter.stats.get("skipped", []))
    if skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = len(terminalreporter.stats.get("skipped", []))
    if skipped:
        terminalreporter.write_line(
            f"error: {skipped} skipped; make test runs every test (scripts/no_skips.py)", red=True, bold=True
        )
