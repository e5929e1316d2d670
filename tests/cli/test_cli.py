"""The ``litestar-jwtsession`` command: keygen, jwks, inspect (as a subprocess and in-process)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from joserfc import jws
from joserfc.jwk import KeySet
from litestar import Litestar

from litestar_jwtsession import (
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionCLIPlugin,
    KeyPair,
    export_pem,
    import_pem,
)
from litestar_jwtsession.cli import NOT_VERIFIED, cli, main

REPO_ROOT = Path(__file__).resolve().parents[2]
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: a separate interpreter, ``python -m litestar_jwtsession.cli``."""
    paths = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "litestar_jwtsession.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def invoke(*args: str, stdin: str | None = None) -> Any:
    """The command in-process, through click's runner."""
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"jti": "j-1", "iat": now, "exp": now + 900, "sub": "alice", **extra}


# --------------------------------------------------------------------------- keygen


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA", "HS256"])
def test_keygen_writes_a_0600_jwk_file_that_the_library_loads(tmp_path: Path, alg: str) -> None:
    result = run("keygen", "--alg", alg, "--kid", "k1", "--out", "key.jwk", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    path = tmp_path / "key.jwk"
    assert mode(path) == 0o600
    assert result.stdout == ""  # the key went to the file only
    assert "k1" in result.stderr
    jwk = json.loads(path.read_text())
    assert jwk["alg"] == alg
    assert jwk["kid"] == "k1"
    key: Any = jwk if jwk["kty"] == "oct" else KeyPair(private_key=jwk)
    config = JWSSessionConfig(key=key)
    token = config.encode_token(claims())
    assert config.codec.decode(token, now=time.time())["sub"] == "alice"


def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "key.jwk"
    path.write_text("keep me")

    refused = run("keygen", "--alg", "ES256", "--out", "key.jwk", cwd=tmp_path)

    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert path.read_text() == "keep me"


def test_keygen_force_replaces_the_file_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "key.jwk"
    path.write_text("old")
    path.chmod(0o644)

    result = run("keygen", "--alg", "ES256", "--out", "key.jwk", "--force", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text())["kty"] == "EC"
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.jwk"]  # no temporary file left


def test_keygen_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        result = invoke("keygen", "--alg", "HS512", "--out", str(tmp_path / "k.jwk"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "k.jwk") == 0o600


def test_keygen_does_not_follow_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "key.jwk").symlink_to(target)

    result = invoke("keygen", "--alg", "ES256", "--out", str(tmp_path / "key.jwk"))

    assert result.exit_code == 1
    assert not target.exists()


@pytest.mark.parametrize("alg", ["ES256", "RS256", "Ed25519"])
def test_keygen_pem_round_trips_through_import_pem(tmp_path: Path, alg: str) -> None:
    result = run("keygen", "--alg", alg, "--format", "pem", "-o", "key.pem", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    path = tmp_path / "key.pem"
    assert mode(path) == 0o600
    pem = path.read_text()
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    private = import_pem(pem, alg, kid="pem-1")
    assert "d" in private
    assert private["alg"] == alg
    assert export_pem(private) == pem
    # the imported key signs, and the `jwks` of the same PEM file verifies
    token = JWSSessionConfig(key=KeyPair(private_key=private)).encode_token(claims())
    published = run("jwks", "key.pem", "--alg", alg, "--kid", "pem-1", cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    key_set = KeySet.import_key_set(json.loads(published.stdout))
    assert json.loads(jws.deserialize_compact(token, key_set, algorithms=[alg]).payload)["sub"] == "alice"


def test_keygen_jwk_round_trips_through_pem() -> None:
    result = invoke("keygen", "--alg", "RS256", "--kid", "r1")

    assert result.exit_code == 0
    jwk = json.loads(result.stdout)
    again = import_pem(export_pem(jwk), "RS256", kid="r1")
    assert again == jwk


def test_keygen_to_stdout_prints_only_the_key() -> None:
    result = run("keygen", "--alg", "A256KW", cwd=Path.cwd())

    assert result.returncode == 0, result.stderr
    jwk = json.loads(result.stdout)
    assert jwk["kty"] == "oct"
    assert jwk["alg"] == "A256KW"
    JWESessionConfig(key=jwk)  # usable as a JWE session key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alg", "HS256", "--format", "pem"], "no PEM form"),
        (["--alg", "PBES2-HS256+A128KW"], "password"),
        (["--alg", "none"], "none"),
        (["--alg", "XYZ"], "Unsupported algorithm"),
    ],
)
def test_keygen_errors(args: list[str], message: str) -> None:
    result = invoke("keygen", *args)

    assert result.exit_code == 1
    assert message in result.output


def test_keygen_needs_an_alg() -> None:
    assert invoke("keygen").exit_code == 2


# --------------------------------------------------------------------------- jwks


def test_jwks_prints_public_keys_without_private_members(tmp_path: Path) -> None:
    for alg in ("ES256", "RS256", "EdDSA"):
        assert invoke("keygen", "--alg", alg, "--kid", alg, "-o", str(tmp_path / f"{alg}.jwk")).exit_code == 0

    result = run("jwks", "ES256.jwk", "RS256.jwk", "EdDSA.jwk", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    key_set = json.loads(result.stdout)
    assert [key["kid"] for key in key_set["keys"]] == ["ES256", "RS256", "EdDSA"]
    for key in key_set["keys"]:
        assert not PRIVATE_MEMBERS & set(key), key
    assert '"d"' not in result.stdout


def test_jwks_of_a_jwk_set_file_strips_private_members(tmp_path: Path) -> None:
    keys = [json.loads(invoke("keygen", "--alg", "ES256", "--kid", kid).stdout) for kid in ("new", "old")]
    keys[1] = {key: value for key, value in keys[1].items() if key != "d"}  # already public
    (tmp_path / "ring.json").write_text(json.dumps({"keys": keys}))

    result = invoke("jwks", str(tmp_path / "ring.json"))

    assert result.exit_code == 0, result.output
    published = json.loads(result.stdout)["keys"]
    assert [key["kid"] for key in published] == ["new", "old"]
    assert all("d" not in key for key in published)


def test_jwks_refuses_oct_keys_without_printing_the_secret(tmp_path: Path) -> None:
    secret = json.loads(invoke("keygen", "--alg", "HS256").stdout)
    (tmp_path / "hs.jwk").write_text(json.dumps(secret))

    result = run("jwks", "hs.jwk", cwd=tmp_path)

    assert result.returncode == 1
    assert "symmetric" in result.stderr
    assert secret["k"] not in result.stdout + result.stderr


def test_jwks_refuses_a_set_that_contains_an_oct_key(tmp_path: Path) -> None:
    public = json.loads(invoke("keygen", "--alg", "ES256").stdout)
    secret = json.loads(invoke("keygen", "--alg", "HS256").stdout)
    (tmp_path / "mixed.json").write_text(json.dumps({"keys": [public, secret]}))

    result = invoke("jwks", str(tmp_path / "mixed.json"))

    assert result.exit_code == 1
    assert secret["k"] not in result.output


def test_jwks_pem_needs_an_alg(tmp_path: Path) -> None:
    assert invoke("keygen", "--alg", "ES256", "--format", "pem", "-o", str(tmp_path / "k.pem")).exit_code == 0

    result = invoke("jwks", str(tmp_path / "k.pem"))

    assert result.exit_code == 1
    assert "--alg" in result.output


def test_jwks_rejects_files_that_are_not_keys(tmp_path: Path) -> None:
    (tmp_path / "junk.txt").write_text("hello")
    (tmp_path / "number.json").write_text("42")

    assert invoke("jwks", str(tmp_path / "junk.txt")).exit_code == 1
    assert invoke("jwks", str(tmp_path / "number.json")).exit_code == 1
    assert invoke("jwks", str(tmp_path / "missing.json")).exit_code == 2


# --------------------------------------------------------------------------- inspect


@pytest.fixture(scope="module")
def es256() -> KeyPair:
    result = invoke("keygen", "--alg", "ES256", "--kid", "es-1")
    return KeyPair(private_key=json.loads(result.stdout))


def test_inspect_jws_shows_header_and_unverified_payload(tmp_path: Path, es256: KeyPair) -> None:
    token = JWSSessionConfig(key=es256).encode_token(claims(scope=["read"]))

    result = run("inspect", token, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("JWS (signed) token")
    assert NOT_VERIFIED in out
    assert '"kid": "es-1"' in out
    assert '"alg": "ES256"' in out
    assert '"sub": "alice"' in out
    assert "exp" in out
    assert "(not yet expired)" in out


def test_inspect_jws_as_json(es256: KeyPair) -> None:
    token = JWSSessionConfig(key=es256).encode_token(claims())

    result = invoke("inspect", "--json", f"Bearer {token}")

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["type"] == "JWS"
    assert report["verified"] is False
    assert report["note"] == NOT_VERIFIED
    assert report["header"] == {"kid": "es-1", "typ": "JWT", "cty": "application/json", "alg": "ES256"}
    assert report["payload"]["sub"] == "alice"


def test_inspect_does_not_verify_a_forged_signature(es256: KeyPair) -> None:
    token = JWSSessionConfig(key=es256).encode_token(claims())
    head, payload, _signature = token.split(".")

    result = invoke("inspect", f"{head}.{payload}.AAAA")

    assert result.exit_code == 0  # shown anyway, flagged as not verified
    assert NOT_VERIFIED in result.stdout


def test_inspect_jwe_shows_only_the_header(tmp_path: Path) -> None:
    config = JWESessionConfig(key="a password long enough", pbes2_iterations=1000)
    token = config.encode_token(claims(secret_claim="hidden"))

    result = run("inspect", "-", cwd=tmp_path, stdin=token + "\n")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("JWE (encrypted) token")
    assert '"alg": "PBES2-HS256+A128KW"' in out
    assert '"enc": "A128GCM"' in out
    assert "not shown" in out
    assert "hidden" not in out
    assert "alice" not in out

    as_json = json.loads(invoke("inspect", "--json", token).stdout)
    assert set(as_json) == {"type", "verified", "header"}
    assert as_json["type"] == "JWE"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("abc", "1"),
        ("a.b", "2"),
        ("a.b.c.d", "4"),
        ("!!!.e30.sig", "not"),
        ("WzFd.e30.sig", "not a JSON object"),  # header [1]
    ],
)
def test_inspect_rejects_non_tokens(token: str, message: str) -> None:
    result = invoke("inspect", token)

    assert result.exit_code == 1
    assert message in result.output


def test_inspect_marks_expired_tokens(es256: KeyPair) -> None:
    token = JWSSessionConfig(key=es256).encode_token(claims(exp=1_000_000_000, iat=999_999_000))

    result = invoke("inspect", token)

    assert "2001-09-09 01:46:40 UTC  (expired)" in result.stdout


# --------------------------------------------------------------------------- entry points


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "litestar-jwtsession" in capsys.readouterr().out
    assert main(["inspect", "nope"]) == 1
    assert main(["keygen"]) == 2


def test_python_dash_m_runs_it_without_a_warning() -> None:
    # the package root imports the command module (for the Litestar CLI group): running a module
    # that is already imported would make runpy warn and execute it a second time
    result = run("--version", cwd=Path.cwd())

    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("litestar-jwtsession, version")


def test_version_is_the_package_metadata_version() -> None:
    import litestar_jwtsession

    assert litestar_jwtsession.__version__ == importlib.metadata.version("litestar-jwtsession")
    assert invoke("--version").stdout.strip().endswith(litestar_jwtsession.__version__)


def test_console_script_is_declared() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'litestar-jwtsession = "litestar_jwtsession.cli:main"' in pyproject


def test_cli_plugin_adds_the_group_to_litestar_cli() -> None:
    root = click.Group("litestar")
    app = Litestar(plugins=[JWTSessionCLIPlugin()])

    for plugin in app.plugins.cli:
        plugin.on_cli_init(root)

    group = root.commands["jwtsession"]
    assert isinstance(group, click.Group)
    assert group.commands["keygen"] is cli.commands["keygen"]  # the standalone command's keygen
    result = CliRunner().invoke(root, ["jwtsession", "keygen", "--alg", "HS256"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["alg"] == "HS256"


def test_litestar_cli_runs_the_commands(tmp_path: Path) -> None:
    (tmp_path / "cli_app.py").write_text(
        "from litestar import Litestar\n"
        "from litestar_jwtsession import JWTSessionCLIPlugin\n"
        "app = Litestar(plugins=[JWTSessionCLIPlugin()])\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "litestar", "--app", "cli_app:app", "jwtsession", "keygen", "--alg", "ES256"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kty"] == "EC"
