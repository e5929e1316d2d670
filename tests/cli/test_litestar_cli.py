"""``litestar --app ... jwtsession``: Litestar's own CLI working on an app's session configs.

The commands run through Litestar's real root group (``litestar.cli.main.litestar_group``) with
``--app``, in-process with click's runner and as a ``python -m litestar`` subprocess, against the
app in ``tests/cli/jwtsession_app.py``. Its tokens come from its own login route.
"""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Literal

import msgspec
import pytest
from click.testing import CliRunner, Result
from joserfc import jws
from joserfc.jwk import KeySet
from litestar.cli.main import litestar_group
from litestar.testing import TestClient

from litestar_jwtsession import JWESessionConfig, JWSSessionConfig, KeyPair, generate_jwk
from litestar_jwtsession.integration.cli import jwtsession_group

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PATH = "tests.cli.jwtsession_app:app"
KEYS_ENV = "JWTSESSION_CLI_TEST_KEYS"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
SECRET_CLAIM = "kept-from-the-client"  # in the refresh session's payload (see the app's login)


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The app's keys, written before it is loaded (in this process and in subprocesses)."""
    access = generate_jwk("ES256", kid="access-1")
    assert isinstance(access, KeyPair)
    keys = {
        "access": access.private_key,
        "refresh": generate_jwk("A256KW", kid="refresh-1"),
        "internal": generate_jwk("HS256", kid="internal-1"),
    }
    path = tmp_path_factory.mktemp("cli-keys") / "keys.json"
    path.write_text(json.dumps(keys), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEYS_ENV, str(path))
        yield path


@pytest.fixture(scope="module")
def app_module(keys_file: Path) -> ModuleType:
    return importlib.import_module("tests.cli.jwtsession_app")


@pytest.fixture(scope="module")
def tokens(app_module: ModuleType) -> dict[str, str]:
    """The access and refresh tokens the app's login route issues."""
    with TestClient(app_module.app, base_url="https://testserver.local") as client:
        response = client.post("/login")
    assert response.status_code == 201
    return {"access": response.cookies["access_token"], "refresh": response.cookies["refresh_token"]}


def litestar(*args: str, stdin: str | None = None) -> Result:
    """``litestar --app tests.cli.jwtsession_app:app ARGS`` in-process, on Litestar's real root group.

    ``LITESTAR_APP`` is passed in the runner's environment, which the runner restores afterwards:
    Litestar's CLI would otherwise write ``--app`` into this process's environment."""
    return CliRunner().invoke(
        litestar_group, ["--app", APP_PATH, *args], input=stdin, env={"LITESTAR_APP": APP_PATH}
    )


def run_litestar(*args: str, keys_file: Path, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m litestar ARGS`` as a separate process, the way a user runs it."""
    paths = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), KEYS_ENV: str(keys_file)}
    env.pop("LITESTAR_APP", None)
    return subprocess.run(
        [sys.executable, "-m", "litestar", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def foreign_tokens() -> dict[str, str]:
    """Tokens with the app's session names and kids, made with other keys."""
    now = int(time.time())
    claims = {"jti": "forged", "iat": now, "exp": now + 60, "sub": "mallory", "device": "forged-device"}
    access = JWSSessionConfig(key=generate_jwk("ES256", kid="access-1"), name="access_token")
    refresh = JWESessionConfig(key=generate_jwk("A256KW", kid="refresh-1"), name="refresh_token")
    return {"access": access.encode_token(claims), "refresh": refresh.encode_token(claims)}


# --------------------------------------------------------------------------- jwks


def test_jwks_prints_the_public_keys_of_the_apps_signed_sessions(
    app_module: ModuleType, tokens: dict[str, str]
) -> None:
    result = litestar("jwtsession", "jwks")

    assert result.exit_code == 0, result.output
    key_set = json.loads(result.stdout)
    assert key_set == {"keys": app_module.access_config.key.public_jwks()}
    assert not PRIVATE_MEMBERS & set(key_set["keys"][0])
    # the JWE refresh session and the HS256 session are skipped, and said so on standard error
    assert "'refresh_token'" in result.stderr
    assert "'internal'" in result.stderr
    # the published set verifies what the app signs
    verified = jws.deserialize_compact(tokens["access"], KeySet.import_key_set(key_set), algorithms=["ES256"])
    assert json.loads(verified.payload)["sub"] == "alice"


def test_jwks_of_one_session_that_must_not_be_published_is_an_error(app_module: ModuleType) -> None:
    refresh = litestar("jwtsession", "jwks", "--session", "refresh_token")
    internal = litestar("jwtsession", "jwks", "--session", "internal")
    unknown = litestar("jwtsession", "jwks", "--session", "nope")

    assert refresh.exit_code == 1
    assert "JWE session" in refresh.output
    assert "keys" not in refresh.stdout
    assert internal.exit_code == 1
    assert "symmetric" in internal.output
    assert app_module.internal_config.key["k"] not in internal.output
    assert unknown.exit_code == 2
    assert "access_token" in unknown.output  # the names it could have been


# --------------------------------------------------------------------------- inspect


def test_inspect_names_the_session_that_accepts_an_access_token(tokens: dict[str, str]) -> None:
    result = litestar("jwtsession", "inspect", tokens["access"])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("JWS (signed) token")
    assert "access_token (JWS): ACCEPTED" in out
    assert "refresh_token (JWE): not tried" in out
    assert "internal (JWS): REFUSED: ERR_JWS_ALG_NOT_ALLOWED" in out
    assert "Payload (verified by session 'access_token')" in out
    assert '"sub": "alice"' in out


def test_inspect_never_prints_a_jwe_payload_without_the_flag(tokens: dict[str, str]) -> None:
    text = litestar("jwtsession", "inspect", tokens["refresh"])
    as_json = litestar("jwtsession", "inspect", "--json", tokens["refresh"])

    assert text.exit_code == 0, text.output
    assert "refresh_token (JWE): ACCEPTED" in text.stdout
    assert "--show-payload" in text.stdout
    assert SECRET_CLAIM not in text.output
    assert "alice" not in text.output
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["accepted_by"] == "refresh_token"
    assert "payload" not in report
    assert SECRET_CLAIM not in as_json.output


def test_inspect_show_payload_prints_the_decrypted_payload(tokens: dict[str, str]) -> None:
    text = litestar("jwtsession", "inspect", "--show-payload", tokens["refresh"])
    as_json = litestar(
        "jwtsession", "inspect", "--show-payload", "--json", "-", stdin=tokens["refresh"] + "\n"
    )

    assert text.exit_code == 0, text.output
    assert "Payload (decrypted by session 'refresh_token')" in text.stdout
    assert f'"device": "{SECRET_CLAIM}"' in text.stdout
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["payload"]["device"] == SECRET_CLAIM


def test_inspect_refuses_a_jws_from_another_key_and_says_why() -> None:
    result = litestar("jwtsession", "inspect", "--json", foreign_tokens()["access"])

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["accepted_by"] is None
    assert report["verified"] is False
    by_name = {entry["session"]: entry for entry in report["sessions"]}
    assert by_name["access_token"]["code"] == "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
    assert report["payload"]["sub"] == "mallory"  # readable by anyone, and flagged so
    assert report["note"].startswith("NOT VERIFIED")
    assert "no session of this app accepts the token" in result.stderr


def test_inspect_refuses_a_jwe_from_another_key_without_showing_anything() -> None:
    result = litestar("jwtsession", "inspect", "--show-payload", foreign_tokens()["refresh"])

    assert result.exit_code == 1
    assert "refresh_token (JWE): REFUSED: ERR_JWE_DECRYPTION_FAILED" in result.stdout
    assert "no session of this app could decrypt it" in result.stdout
    assert "forged-device" not in result.output


def test_inspect_says_an_expired_token_is_expired(app_module: ModuleType) -> None:
    now = int(time.time())
    expired = app_module.access_config.encode_token({"jti": "old", "iat": now - 1000, "exp": now - 100})

    result = litestar("jwtsession", "inspect", expired)

    assert result.exit_code == 1
    assert "access_token (JWS): REFUSED: ERR_JWT_EXPIRED" in result.stdout


def test_inspect_limited_to_one_session(tokens: dict[str, str]) -> None:
    other = litestar("jwtsession", "inspect", "--session", "internal", tokens["access"])
    own = litestar("jwtsession", "inspect", "--session", "access_token", tokens["access"])

    assert other.exit_code == 1
    assert "access_token" not in other.stdout
    assert own.exit_code == 0
    assert "refresh_token" not in own.stdout


@pytest.mark.parametrize("token", ["abc", "a.b", "!!!.e30.sig", "WzFd.e30.sig"])
def test_inspect_refuses_what_is_no_token(app_module: ModuleType, token: str) -> None:
    result = litestar("jwtsession", "inspect", token)

    assert result.exit_code == 1
    assert "ERR_JWS_INVALID" in result.output


# --------------------------------------------------------------------------- keygen


def test_keygen_writes_a_key_file(app_module: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "next-access.jwk"

    result = litestar("jwtsession", "keygen", "--alg", "ES256", "--kid", "access-2", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    jwk = json.loads(out.read_text())
    assert (jwk["kty"], jwk["kid"]) == ("EC", "access-2")
    KeyPair(private_key=jwk)


# --------------------------------------------------------------------------- a real process


def test_the_commands_in_a_litestar_process(keys_file: Path, tokens: dict[str, str], tmp_path: Path) -> None:
    app = ("--app", APP_PATH)

    listed = run_litestar(*app, "--help", keys_file=keys_file)
    jwks = run_litestar(*app, "jwtsession", "jwks", keys_file=keys_file)
    accepted = run_litestar(*app, "jwtsession", "inspect", tokens["refresh"], keys_file=keys_file)
    refused = run_litestar(*app, "jwtsession", "inspect", foreign_tokens()["access"], keys_file=keys_file)
    keygen = run_litestar(*app, "jwtsession", "keygen", "--alg", "EdDSA", keys_file=keys_file)

    assert "jwtsession" in listed.stdout
    assert jwks.returncode == 0, jwks.stderr
    assert [key["kid"] for key in json.loads(jwks.stdout)["keys"]] == ["access-1"]
    assert accepted.returncode == 0, accepted.stderr
    assert "refresh_token (JWE): ACCEPTED" in accepted.stdout
    assert SECRET_CLAIM not in accepted.stdout + accepted.stderr
    assert refused.returncode == 1
    assert "access_token (JWS): REFUSED" in refused.stdout
    assert keygen.returncode == 0, keygen.stderr
    assert json.loads(keygen.stdout)["crv"] == "Ed25519"


# --------------------------------------------------------------------------- JWTSessionCLIPlugin


def _app_module(directory: Path, name: str, plugins: str) -> None:
    (directory / f"{name}.py").write_text(
        "from litestar import Litestar\n"
        "from litestar_jwtsession import JWTSessionCLIPlugin, JWTSessionPlugin\n"
        "from tests.cli.jwtsession_app import access_config\n"
        f"app = Litestar(plugins=[{plugins}])\n"
    )


@pytest.mark.parametrize(
    "plugins",
    [
        "JWTSessionCLIPlugin(), JWTSessionPlugin(access=access_config)",
        "JWTSessionPlugin(access=access_config), JWTSessionCLIPlugin()",
    ],
)
def test_cli_plugin_beside_the_session_plugin_keeps_the_apps_group(
    keys_file: Path, tmp_path: Path, plugins: str
) -> None:
    _app_module(tmp_path, "both_plugins", plugins)

    result = run_litestar(
        "--app-dir", str(tmp_path), "--app", "both_plugins:app", "jwtsession", "jwks", keys_file=keys_file
    )

    assert result.returncode == 0, result.stderr
    assert [key["kid"] for key in json.loads(result.stdout)["keys"]] == ["access-1"]


def test_cli_plugin_alone_offers_keygen(keys_file: Path, tmp_path: Path) -> None:
    _app_module(tmp_path, "cli_plugin_only", "JWTSessionCLIPlugin()")
    app = ("--app-dir", str(tmp_path), "--app", "cli_plugin_only:app")

    keygen = run_litestar(*app, "jwtsession", "keygen", "--alg", "HS256", keys_file=keys_file)
    jwks = run_litestar(*app, "jwtsession", "jwks", keys_file=keys_file)

    assert keygen.returncode == 0, keygen.stderr
    assert json.loads(keygen.stdout)["alg"] == "HS256"
    assert jwks.returncode == 1
    assert "no JWTSessionPlugin" in jwks.stderr


def test_inspect_hides_a_claims_error_that_could_quote_the_jwe_payload() -> None:
    """A claims-type error names the offending value; for a JWE it stays hidden without the flag."""

    class Claims(msgspec.Struct):
        role: Literal["user", "admin"]

    key = generate_jwk("A256KW", kid="typed-1")
    typed = JWESessionConfig(key=key, name="typed", claims=Claims)
    now = int(time.time())
    token = JWESessionConfig(key=key, name="typed").encode_token(
        {"jti": "t", "iat": now, "exp": now + 60, "role": "hidden-role"}
    )
    group = jwtsession_group([typed])

    hidden = CliRunner().invoke(group, ["inspect", token])
    shown = CliRunner().invoke(group, ["inspect", "--show-payload", token])

    assert hidden.exit_code == 1
    assert "typed (JWE): REFUSED: ERR_JWT_CLAIMS_CONVERSION" in hidden.stdout
    assert "hidden-role" not in hidden.output
    assert shown.exit_code == 1
    assert "hidden-role" in shown.stdout  # msgspec's message, asked for
