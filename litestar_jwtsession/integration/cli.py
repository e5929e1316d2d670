"""``litestar jwtsession ...``: the app's own sessions on Litestar's command line.

:class:`~litestar_jwtsession.JWTSessionPlugin` adds this group through Litestar's CLI plugin
protocol, so an app with the plugin has it without further setup:

.. code-block:: text

    litestar --app app:app jwtsession jwks                    # the public JWK Set of its JWS sessions
    litestar --app app:app jwtsession inspect eyJraWQiOi...   # which session accepts the token, and why not
    litestar --app app:app jwtsession keygen --alg ES256      # a new key, as the standalone command

``inspect`` opens a token with the app's own keys. It never prints the payload of an encrypted
(JWE) token unless asked with ``--show-payload``: that payload was encrypted so that its holder
cannot read it. The standalone ``litestar-jwtsession`` command (:mod:`litestar_jwtsession.cli`)
does the same for key files and tokens, without an app.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from litestar.plugins import CLIPlugin

from litestar_jwtsession.cli.commands import (
    NOT_VERIFIED,
    clean_token,
    dumps,
    keygen,
    times,
    token_header,
    unverified_payload,
)
from litestar_jwtsession.errors import ErrorCode, SessionError
from litestar_jwtsession.integration.jwks import public_jwk_set
from litestar_jwtsession.session.claims import convert_claims

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar_jwtsession.session.config import SessionConfig

__all__ = ("GROUP_NAME", "JWTSessionCLIPlugin", "add_jwtsession_group", "jwtsession_group")

GROUP_NAME = "jwtsession"


def _read_token(config: SessionConfig[Any], token: str) -> dict[str, Any]:
    """What the app's reader checks of ``token`` for ``config`` without a request: signature or
    decryption with the configured keys, ``typ``, algorithms, claims at the session clock, and
    typed claims. Not checked: revocation (the store), CSRF, keys from ``on_key_lookup`` hooks.

    The one place this module reaches into a config's internals (its codec, the claims
    conversion), so it can be re-pointed when those move.
    """
    claims = config.codec.decode(token, now=config.clock())
    convert_claims(config, claims)
    return claims


def jwtsession_group(configs: Sequence[SessionConfig[Any]]) -> click.Group:
    """The ``jwtsession`` command group working on ``configs`` (an app's session configs)."""

    @click.group(name=GROUP_NAME, context_settings={"help_option_names": ["-h", "--help"]})
    def group() -> None:
        """This app's sessions: publish their public keys, inspect tokens with their keys, make keys."""

    def chosen(session: str | None) -> list[SessionConfig[Any]]:
        if not configs:
            raise click.ClickException("this app has no JWTSessionPlugin: it has no session to work on")
        if session is None:
            return list(configs)
        for config in configs:
            if config.name == session:
                return [config]
        names = ", ".join(config.name for config in configs)
        raise click.BadParameter(
            f"no session {session!r} in this app (its sessions: {names})", param_hint="--session"
        )

    session_option = click.option(
        "--session", default=None, help="Only this session (its name). Default: all."
    )

    @group.command()
    @session_option
    def jwks(session: str | None) -> None:
        """Print the public JWK Set that verifies this app's signed (JWS) sessions.

        Only public members of asymmetric signature keys are printed. Encrypted (JWE) sessions and
        symmetric (HS*) keys are skipped with a note on standard error; named with --session, they
        are an error.
        """
        publishable: list[SessionConfig[Any]] = []
        reasons: list[str] = []
        for config in chosen(session):
            try:
                public_jwk_set(config=config)
            except ValueError as exc:
                reasons.append(str(exc))
            else:
                publishable.append(config)
        if session is not None and reasons:
            raise click.ClickException(reasons[0])
        if not publishable:
            raise click.ClickException("nothing to publish:\n  " + "\n  ".join(reasons))
        try:
            key_set = public_jwk_set(config=publishable)
        except ValueError as exc:  # e.g. two sessions' keys share a kid
            raise click.ClickException(str(exc)) from None
        for reason in reasons:
            click.echo(f"skipped: {reason}", err=True)
        click.echo(dumps(key_set))

    @group.command(name="inspect")
    @click.argument("token")
    @session_option
    @click.option(
        "--show-payload",
        is_flag=True,
        help="Also print the decrypted payload of an encrypted (JWE) token. Without it, never printed.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
    def inspect_token(token: str, session: str | None, show_payload: bool, as_json: bool) -> None:
        """Open TOKEN with this app's keys and say which session accepts it, or why none does.

        TOKEN '-' reads it from standard input; a 'Bearer ' prefix is dropped. Exit status 1 when
        no session accepts it. Revocation (the session store) and CSRF are not checked here.
        """
        if token == "-":
            token = sys.stdin.read()
        token = clean_token(token)
        kind, header = token_header(token)
        report = _inspect(kind, header, token, chosen(session), show_payload=show_payload)
        click.echo(dumps(report) if as_json else _render(report))
        if report["accepted_by"] is None:
            raise click.ClickException("no session of this app accepts the token")

    group.add_command(keygen)
    return group


def _inspect(
    kind: str, header: dict[str, Any], token: str, configs: list[SessionConfig[Any]], *, show_payload: bool
) -> dict[str, Any]:
    sessions: list[dict[str, Any]] = []
    accepted: tuple[SessionConfig[Any], dict[str, Any]] | None = None
    for config in configs:
        entry: dict[str, Any] = {"session": config.name, "kind": config.kind.upper()}
        if config.kind.upper() != kind:
            entry.update(
                accepted=False, code=None, reason=f"a {entry['kind']} session; this token is a {kind}"
            )
        else:
            try:
                claims = _read_token(config, token)
            except SessionError as exc:
                reason = exc.message
                if kind == "JWE" and exc.code is ErrorCode.CLAIMS_CONVERSION and not show_payload:
                    # msgspec's words may quote a decrypted claim value (an enum's, say)
                    reason = "the decrypted claims do not fit its claims type (details: --show-payload)"
                entry.update(accepted=False, code=exc.code.value, reason=reason)
            else:
                entry.update(accepted=True, code=None, reason=None)
                accepted = accepted or (config, claims)
            if config.key_source is not None:
                entry["note"] = (
                    "verifies with a key source (another service's keys), which needs a request: "
                    "not checked here"
                )
            elif config.hooks.has("on_key_lookup"):
                entry["note"] = (
                    "has on_key_lookup hooks, which need a request: checked with its configured key"
                )
        sessions.append(entry)
    report: dict[str, Any] = {
        "type": kind,
        "header": header,
        "sessions": sessions,
        "accepted_by": None if accepted is None else accepted[0].name,
        "verified": accepted is not None,
    }
    if accepted is not None and (kind == "JWS" or show_payload):
        report["payload"] = accepted[1]
    elif kind == "JWS":
        report["payload"] = unverified_payload(token, header)
        report["note"] = NOT_VERIFIED
    return report


def _render(report: dict[str, Any]) -> str:
    kind, accepted_by = report["type"], report["accepted_by"]
    lines = [f"{kind} ({'signed' if kind == 'JWS' else 'encrypted'}) token", ""]
    verdict = "verified" if accepted_by else "NOT VERIFIED"
    lines += [f"Protected header ({verdict}):", dumps(report["header"]), "", "Sessions of this app:"]
    for entry in report["sessions"]:
        if entry["accepted"]:
            outcome = "ACCEPTED (" + ("signature" if kind == "JWS" else "decryption") + " and claims valid)"
        elif entry["code"] is None:
            outcome = f"not tried: {entry['reason']}"
        else:
            outcome = f"REFUSED: {entry['code']}: {entry['reason']}"
        lines.append(f"  {entry['session']} ({entry['kind']}): {outcome}")
        if "note" in entry:
            lines.append(f"    note: {entry['note']}")
    lines.append("")
    if kind == "JWE" and accepted_by is None:
        lines.append("Payload: encrypted, and no session of this app could decrypt it.")
    elif "payload" not in report:
        lines.append(
            f"Payload: decrypted by session {accepted_by!r}, not shown (an encrypted session's payload "
            "is kept from its holder; pass --show-payload to print it)."
        )
    else:
        if accepted_by is None:
            origin = report["note"]
        else:
            origin = f"{'verified' if kind == 'JWS' else 'decrypted'} by session {accepted_by!r}"
        payload = report["payload"]
        lines += [f"Payload ({origin}):", dumps(payload)]
        if isinstance(payload, dict) and (dates := times(payload, datetime.now(UTC).timestamp())):
            lines += ["", "Times:", *dates]
    return "\n".join(lines)


def add_jwtsession_group(cli: click.Group, configs: Sequence[SessionConfig[Any]]) -> None:
    """Add (or replace) the ``jwtsession`` group for ``configs`` on Litestar's root CLI group."""
    cli.add_command(jwtsession_group(configs), GROUP_NAME)


class JWTSessionCLIPlugin(CLIPlugin):
    """Adds ``litestar jwtsession`` to an app that has no :class:`~litestar_jwtsession.JWTSessionPlugin`
    (only ``keygen`` has something to work on there).

    :class:`~litestar_jwtsession.JWTSessionPlugin` adds the group itself, working on its
    sessions; next to it this plugin changes nothing, whatever their order in ``plugins``.
    """

    __slots__ = ()

    def on_cli_init(self, cli: click.Group) -> None:
        if GROUP_NAME not in cli.commands:
            add_jwtsession_group(cli, ())
