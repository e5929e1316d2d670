"""Fixtures of the interop suite: unjwt and h3 from npm, and a Node server using them.

``node_env`` installs ``tests/interop/node/package.json`` (unjwt 0.7.x, h3 2.x, exact versions)
into ``.interop-cache/`` at the repository root (git-ignored) with ``npm install``, once: a later
run with the same ``package.json`` reuses it. The Node scripts are copied next to
``node_modules`` and run from there.

Without ``node``/``npm`` (or when the install fails) the interop tests are skipped locally, with
the reason; when the ``CI`` environment variable is set they fail instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from litestar_jwtsession import generate_jwk
from tests.interop._support import NodeSide, PySide, SessionSpec, node_key_of, py_key_of

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
NODE_SOURCES = Path(__file__).resolve().parent / "node"
CACHE = ROOT / ".interop-cache"
MIN_NODE = (20, 11, 1)  # h3 2.x's "engines"
INSTALL_TIMEOUT = 600
START_TIMEOUT = 30
PASSWORD = secrets.token_urlsafe(24)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "interop: needs Node.js and npm (unjwt and h3 from the npm registry)")


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail when CI is set (CI must run the interop tests)."""
    if os.environ.get("CI"):
        pytest.fail(f"interop tests cannot run: {reason} (CI is set, so this is an error)", pytrace=False)
    pytest.skip(f"interop tests skipped: {reason}")


@dataclass(frozen=True)
class NodeEnv:
    node: str
    version: str
    cache: Path

    def start(self, script: str, env: dict[str, str] | None = None) -> NodeProcess:
        return NodeProcess.start(self, script, env or {})


class NodeProcess:
    """A Node script printing ``{"port": N}`` once it listens; stopped by closing its stdin."""

    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.base_url = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, env: NodeEnv, script: str, extra_env: dict[str, str]) -> NodeProcess:
        log = env.cache / f"{Path(script).stem}.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [env.node, script],
                cwd=env.cache,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, **extra_env},
            )
        assert process.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        try:
            port = int(json.loads(line[0])["port"])
        except (IndexError, ValueError, KeyError, TypeError):
            cls._stop(process)
            pytest.fail(f"node {script} did not start:\n{log.read_text()}", pytrace=False)
        return cls(process, port, log)

    @staticmethod
    def _stop(process: subprocess.Popen[str]) -> None:
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()

    def stop(self) -> None:
        self._stop(self.process)


def _node_version(node: str) -> tuple[str, tuple[int, ...]]:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(f"`node --version` failed: {exc}")
    text = out.stdout.strip()
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+).*", text)
    if match is None:
        unavailable(f"cannot parse the Node.js version {text!r}")
    return text, tuple(int(part) for part in match.groups())


def _install(npm: str) -> None:
    """``npm install`` the pinned packages into CACHE unless that package.json is installed there."""
    source = (NODE_SOURCES / "package.json").read_bytes()
    stamp = CACHE / ".installed"
    digest = hashlib.sha256(source).hexdigest()
    CACHE.mkdir(exist_ok=True)
    with _locked(CACHE / ".lock"):
        if stamp.exists() and stamp.read_text() == digest and (CACHE / "node_modules" / "unjwt").is_dir():
            return
        stamp.unlink(missing_ok=True)
        (CACHE / "package.json").write_bytes(source)
        try:
            result = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
                cwd=CACHE,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            unavailable(f"npm install failed: {exc}")
        if result.returncode != 0:
            unavailable(f"npm install failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        stamp.write_text(digest)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (two test runs sharing the cache)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no concurrent runs then
        yield
        return
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def node_env() -> NodeEnv:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        unavailable(f"{missing} not found on PATH (install Node.js {'.'.join(map(str, MIN_NODE))}+ and npm)")
    text, version = _node_version(node)
    if version < MIN_NODE:
        unavailable(f"Node.js {text} is too old; h3 2.x needs {'.'.join(map(str, MIN_NODE))} or newer")
    _install(npm)
    for script in NODE_SOURCES.glob("*.mjs"):
        shutil.copyfile(script, CACHE / script.name)
    return NodeEnv(node=node, version=text, cache=CACHE)


@pytest.fixture(scope="session")
def node_server(node_env: NodeEnv) -> Iterator[NodeProcess]:
    server = node_env.start("server.mjs")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def node(node_server: NodeProcess) -> Iterator[NodeSide]:
    side = NodeSide(node_server.base_url)
    yield side
    side.close()


@pytest.fixture(scope="session")
def py() -> Iterator[PySide]:
    side = PySide()
    yield side
    side.close()


@pytest.fixture(scope="session")
def sides(py: PySide, node: NodeSide) -> dict[str, Any]:
    return {"py": py, "node": node}


def session_name(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(("ix", *parts)).lower())


@pytest.fixture(scope="session")
def make_spec(node: NodeSide) -> Any:
    """``make_spec(kind, alg, origin, **fields)``: a SessionSpec keyed by ``origin``'s generator."""
    cache: dict[tuple[str, str], tuple[Any, Any]] = {}

    def keys(alg: str, origin: str) -> tuple[Any, Any]:
        if alg == "password":
            return PASSWORD, PASSWORD
        if (alg, origin) not in cache:
            if origin == "py":
                key = generate_jwk(alg)
                cache[alg, origin] = (key, node_key_of(key))
            else:
                jwk = node.post("/jose/generate", {"alg": alg})["key"]
                cache[alg, origin] = (py_key_of(jwk), jwk)
        return cache[alg, origin]

    def make(kind: str, alg: str, origin: str, *name: str, **fields: Any) -> SessionSpec:
        py_key, node_key = keys(alg, origin)
        return SessionSpec(kind, session_name(kind, alg, origin, *name), py_key, node_key, **fields)  # type: ignore[arg-type]

    return make
