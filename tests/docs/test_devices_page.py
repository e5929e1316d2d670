"""The example of docs/devices.md runs as printed: its ``app.py`` and ``check.py`` blocks."""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.test_quickstart import DOCS, run


def test_the_device_sessions_example_runs(tmp_path: Path) -> None:
    text = (DOCS / "devices.md").read_text(encoding="utf-8")
    files = dict(re.findall(r"```python\n# (\w+\.py)\n(.*?)```", text, flags=re.DOTALL))
    assert set(files) == {"app.py", "check.py"}
    for name, source in files.items():
        (tmp_path / name).write_text(source, encoding="utf-8")

    result = run(["-W", "error", "check.py"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "devices ok"
