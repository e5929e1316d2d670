"""Prints the hostile-input figures at the end of the run (independent of ``-s``)."""

from typing import Any

from tests.pbes2_support import derivations  # noqa: F401  # a fixture, shared with tests/{jose,security}
from tests.security._stats import STATS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS["inputs"]:
        return
    terminalreporter.section("hostile-input suite")
    terminalreporter.write_line(
        f"inputs tried: {STATS['inputs']}, requests: {STATS['requests']}, "
        f"rejected (401/anonymous): {STATS['rejected']}, accepted: {STATS['accepted']}, "
        f"5xx: {STATS['server_errors']}"
    )
    for key in sorted(STATS):
        if key.startswith("strategy:"):
            terminalreporter.write_line(f"  {key[9:]}: {STATS[key]} inputs")
