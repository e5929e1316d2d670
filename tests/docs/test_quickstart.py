"""The quickstart works as written: its keys, its ``app.py``, its test, and its API-client header."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROOT = DOCS.parent

# what the page does not show but a newcomer would try next: the token without the cookie jar
API_CLIENT_CHECK = """
with TestClient(app, base_url="https://testserver.local") as browser:
    token = browser.post("/login", json={"username": "alice", "password": "secret"}).cookies["access_token"]
with TestClient(app, base_url="https://testserver.local") as api_client:
    assert api_client.get("/me").status_code == 401
    me = api_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["user"] == "alice"
print("quickstart ok")
"""


def blocks(section: str, language: str) -> list[str]:
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", body, flags=re.DOTALL)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_quickstart_runs_as_written(tmp_path: Path) -> None:
    (keygen,) = blocks("Generate the keys", "sh")
    for line in keygen.strip().splitlines():
        command = line.split()
        assert command[0] == "litestar-jwtsession"
        made = run(["-m", "litestar_jwtsession.cli", *command[1:]], tmp_path)
        assert made.returncode == 0, made.stderr
    (app,) = blocks("Write the application", "python")
    (tests,) = blocks("Test it", "python")
    (tmp_path / "app.py").write_text(app, encoding="utf-8")
    (tmp_path / "check_quickstart.py").write_text(tests + API_CLIENT_CHECK, encoding="utf-8")

    result = run(["-W", "error", "check_quickstart.py"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("quickstart ok")
