"""The pytest plugin as a user's test suite gets it: through the ``pytest11`` entry point that
pyproject.toml declares, in a pytest run of its own (``pytester``, in a subprocess)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "litestar_jwtsession_pytest"
QUIET = ("-p", "no:cacheprovider", "-q")


@pytest.fixture
def installed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Installs the package's ``pytest11`` entry points as pyproject.toml declares them (a
    ``.dist-info`` directory on the path of the runs, as an installed wheel has), and the checkout
    itself; ``first`` goes in front of the path."""
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    assert entry_points == {PLUGIN: PLUGIN}
    dist_info = pytester.mkdir("litestar_jwtsession_probe-0.dist-info")
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: litestar-jwtsession-probe\nVersion: 0\n"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[pytest11]\n{lines}")

    def install(*first: Path) -> None:
        # pytester puts its own directory (the .dist-info's parent) first on PYTHONPATH
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*map(str, first), str(ROOT)]))

    install()
    return install


def test_the_entry_point_provides_the_fixture(
    pytester: pytest.Pytester, installed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_clock="""
        from litestar_jwtsession.testing import SessionClock

        seen = []

        def test_one(session_clock):
            assert isinstance(session_clock, SessionClock)
            session_clock.advance(1000)
            seen.append(session_clock)

        def test_a_fresh_clock_per_test(session_clock):
            assert session_clock is not seen[0]
            assert session_clock() == seen[0]() - 1000
        """
    )
    pytester.runpytest_subprocess(*QUIET).assert_outcomes(passed=2)

    # the fixture came through the entry point: without plugin autoloading it is not there
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    without = pytester.runpytest_subprocess(*QUIET)
    without.assert_outcomes(errors=2)
    without.stdout.fnmatch_lines(["*fixture 'session_clock' not found*"])


def test_loading_it_imports_nothing_heavy(
    pytester: pytest.Pytester, installed: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_light="""
        import sys

        HEAVY = ("litestar", "litestar_jwtsession", "httpx", "msgspec", "joserfc", "cryptography")

        def test_nothing_heavy_is_loaded():
            assert "litestar_jwtsession_pytest" in sys.modules
            assert [name for name in HEAVY if name in sys.modules] == []

        def test_until_a_fixture_is_used(session_clock):
            assert "litestar_jwtsession" in sys.modules
        """
    )
    # only this plugin, loaded by its entry point's name, as with PYTEST_DISABLE_PLUGIN_AUTOLOAD
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.runpytest_subprocess(*QUIET, "-p", PLUGIN).assert_outcomes(passed=2)


def test_a_project_without_litestar_is_not_disturbed(
    pytester: pytest.Pytester, installed: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = pytester.mkdir("blocked")
    (blocked / "litestar").mkdir()
    (blocked / "litestar" / "__init__.py").write_text("raise ImportError('no Litestar in this project')\n")
    installed(blocked)
    pytester.makepyfile(
        test_plain="""
        import sys

        import pytest

        def test_plain():
            assert "litestar_jwtsession_pytest" in sys.modules
            with pytest.raises(ImportError, match="no Litestar in this project"):
                import litestar
        """
    )
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.runpytest_subprocess(*QUIET, "-p", PLUGIN).assert_outcomes(passed=1)
