"""The commands of ``litestar-jwtsession`` (keygen, jwks, inspect) and the helpers they share with
the Litestar CLI group (:mod:`litestar_jwtsession.integration.cli`)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from litestar_jwtsession.jose import SessionError
from litestar_jwtsession.jose.headers import parse_protected_header
from litestar_jwtsession.jose.keys import KeyPair, export_pem, generate_jwk, import_pem, publishable_jwks

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = (
    "NOT_VERIFIED",
    "clean_token",
    "cli",
    "dumps",
    "keygen",
    "main",
    "times",
    "token_header",
    "unverified_payload",
)

PROG_NAME = "litestar-jwtsession"
NOT_VERIFIED = "NOT VERIFIED: the signature was not checked; do not trust these claims"
_JSON_INDENT = 2


# --------------------------------------------------------------------------- files


def _write_secret(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600; refuse an existing path unless ``force``."""
    if path.is_dir():
        raise click.ClickException(f"{path} is a directory")
    if not force:
        try:
            # O_EXCL: never follows a symlink, never truncates an existing file
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise click.ClickException(f"{path} exists; pass --force to overwrite it") from None
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
        _fill(fd, text)
        return
    # --force: a 0600 temporary file renamed over the old one (atomic, and the new mode sticks)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    try:
        _fill(fd, text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fill(fd: int, text: str) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)  # whatever the umask
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read_keys(path: Path, *, alg: str | None, kid: str | None) -> list[Any]:
    """The JWKs of a key file: a JWK, a JWK Set, a list of JWKs (JSON) or a PEM key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if "-----BEGIN" in text:
        if alg is None:
            raise click.ClickException(f"{path} is a PEM file: pass --alg (a PEM key does not name one)")
        try:
            return [import_pem(text, alg, kid=kid)]
        except ValueError as exc:
            raise click.ClickException(f"{path}: {exc}") from None
    if kid is not None:
        raise click.ClickException("--kid applies to PEM files only (a JWK carries its own kid)")
    try:
        value = json.loads(text)
    except ValueError:
        raise click.ClickException(f"{path} is neither JSON (a JWK or JWK Set) nor PEM") from None
    if isinstance(value, dict) and isinstance(value.get("keys"), list):
        return list(value["keys"])
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise click.ClickException(f"{path}: expected a JWK, a list of JWKs or a JWK Set")


def dumps(value: Any) -> str:
    """``value`` as indented JSON, non-ASCII characters kept."""
    return json.dumps(value, indent=_JSON_INDENT, ensure_ascii=False)


# --------------------------------------------------------------------------- tokens


def _b64decode(segment: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise click.ClickException(f"the {what} is not base64url") from None


def clean_token(token: str) -> str:
    """``token`` as pasted: surrounding blanks and a ``Bearer `` prefix dropped."""
    token = token.strip()
    if token.startswith("Bearer "):
        token = token[7:].strip()
    return token


def token_header(token: str) -> tuple[str, dict[str, Any]]:
    """The kind (``"JWS"`` or ``"JWE"``) and the unverified protected header of ``token``."""
    try:
        header = parse_protected_header(token)
    except SessionError as exc:
        raise click.ClickException(f"not a token this library reads: {exc.message} ({exc.code})") from None
    return ("JWE" if token.count(".") == 4 else "JWS"), header


def times(payload: dict[str, Any], now: float) -> list[str]:
    """``iat``, ``nbf`` and ``exp`` of ``payload`` as dates, each a line of text."""
    lines = []
    for claim in ("iat", "nbf", "exp"):
        value = payload.get(claim)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        try:
            when = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        except (OverflowError, OSError, ValueError):
            continue
        note = ""
        if claim == "exp":
            note = "  (expired)" if value <= now else "  (not yet expired)"
        elif claim == "nbf" and value > now:
            note = "  (not yet valid)"
        lines.append(f"  {claim}  {when}{note}")
    return lines


def _inspect(token: str) -> dict[str, Any]:
    token = clean_token(token)
    kind, header = token_header(token)
    result: dict[str, Any] = {"type": kind, "verified": False, "header": header}
    if kind == "JWS":
        result["payload"] = unverified_payload(token, header)
    return result


def unverified_payload(token: str, header: dict[str, Any]) -> Any:
    """The payload of the JWS ``token``, NOT verified: JSON if it is, else text."""
    segment = token.split(".")[1]
    if header.get("b64") is False:
        return segment  # RFC 7797 unencoded payload, shown as is
    raw = _b64decode(segment, "payload")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        return raw.decode("utf-8", errors="replace")


def _render(report: dict[str, Any], now: float) -> str:
    header = report["header"]
    lines: list[str] = []
    if report["type"] == "JWE":
        lines.append("JWE (encrypted) token")
    else:
        lines.append("JWS (signed) token")
    lines += ["", "Protected header (NOT VERIFIED):", dumps(header)]
    if report["type"] == "JWE":
        lines += [
            "",
            f"Payload: encrypted with {header.get('alg')!s}/{header.get('enc')!s}; "
            "only the holder of the key can read it (not shown).",
        ]
        return "\n".join(lines)
    payload = report["payload"]
    lines += ["", f"Payload ({NOT_VERIFIED}):", dumps(payload)]
    if isinstance(payload, dict) and (dates := times(payload, now)):
        lines += ["", "Times (from the unverified payload):", *dates]
    return "\n".join(lines)


# --------------------------------------------------------------------------- commands


@click.group(name="jwtsession", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="litestar-jwtsession", prog_name=PROG_NAME)
def cli() -> None:
    """Key tooling for litestar-jwtsession: generate keys, publish public keys, inspect tokens."""


@cli.command()
@click.option(
    "--alg", required=True, help="Algorithm the key is for, e.g. ES256, RS256, EdDSA, HS256, A256KW."
)
@click.option("--kid", default=None, help="Key id written into the JWK (default: a random UUID).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jwk", "pem"]),
    default="jwk",
    show_default=True,
    help="jwk: the private JWK as JSON; pem: a PKCS#8 private key (asymmetric algorithms only).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the key to this file (mode 0600) instead of standard output.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def keygen(alg: str, kid: str | None, output_format: str, out: Path | None, force: bool) -> None:
    """Generate a key for ALG and print or save its private JWK (or PEM)."""
    try:
        key = generate_jwk(alg, kid=kid)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    private = key.private_key if isinstance(key, KeyPair) else key
    assert private is not None  # generate_jwk always returns the private half
    if output_format == "pem":
        if not isinstance(key, KeyPair):
            raise click.ClickException(
                f"{alg} uses a symmetric (oct) key, which has no PEM form; use --format jwk"
            )
        text = export_pem(private)
    else:
        text = dumps(private) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    _write_secret(out, text, force=force)
    kind = "key pair" if isinstance(key, KeyPair) else "secret key"
    if output_format == "jwk":
        note = f"kid {private['kid']!r}"
    else:
        note = f"PEM keeps no alg or kid: load it with import_pem(pem, {alg!r}, kid=...)"
    click.echo(f"wrote the {alg} {kind} to {out} (mode 0600; {note})", err=True)


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option("--alg", default=None, help="Algorithm of PEM keys (a PEM file does not name one).")
@click.option("--kid", default=None, help="Key id given to a PEM key (the one the app passes to import_pem).")
def jwks(files: tuple[Path, ...], alg: str | None, kid: str | None) -> None:
    """Print the public JWK Set of one or more key files (JWK, JWK Set or PEM).

    Private members are dropped; symmetric (oct) and encryption keys are refused.
    """
    if kid is not None and len(files) > 1:
        raise click.ClickException("--kid needs a single key file")
    keys: list[Any] = []
    for path in files:
        keys.extend(_read_keys(path, alg=alg, kid=kid))
    try:
        key_set = {"keys": publishable_jwks(keys)}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(dumps(key_set))


@cli.command(name="inspect")
@click.argument("token")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def inspect_token(token: str, as_json: bool) -> None:
    """Decode TOKEN without verifying it ('-' reads it from standard input).

    For a JWS: the protected header and the payload, both NOT VERIFIED. For a JWE: the protected
    header only (the payload is encrypted).
    """
    if token == "-":
        token = sys.stdin.read()
    now = datetime.now(UTC).timestamp()
    report = _inspect(token)
    if as_json:
        if report["type"] == "JWS":
            report["note"] = NOT_VERIFIED
        click.echo(dumps(report))
    else:
        click.echo(_render(report, now))


# --------------------------------------------------------------------------- entry points


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 1 on an error, 2 on bad usage)."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=PROG_NAME, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
