"""The example of docs/testing.md ("Testing your app") runs as printed: its ``app.py`` and
``test_app.py`` blocks, in a pytest run of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"


def files_on_the_page() -> dict[str, str]:
    """The page's Python blocks that start with a ``# <file name>`` line, by file name."""
    blocks = re.findall(r"```python\n# (\w+\.py)\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    return dict(blocks)


def test_the_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    files = files_on_the_page()
    assert set(files) == {"app.py", "test_app.py"}
    for name, text in files.items():
        (pytester.path / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # warnings are errors, as in this suite: the example must not teach deprecated spellings
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", "-p", "litestar_jwtsession_pytest"
    )
    result.assert_outcomes(passed=files["test_app.py"].count("\ndef test_"))
