"""What an incoming token of a session must pass besides CSRF: the key an ``on_key_lookup`` hook
picks, the signature or decryption, the claims and the typed claims, and revocation.

Every failure is a :class:`SessionError`; a store that cannot answer raises
:class:`~litestar_jwtsession.errors.StoreUnavailableError` (no verdict on the token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.session.claims import convert_claims
from litestar_jwtsession.session.hooks import HookEvent

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.store import SessionStore

    Run = Callable[[Awaitable[Any]], Awaitable[Any]]
    """Awaits hook or store calls made on behalf of a session's read (see ``Session``)."""

__all__ = ("check_not_revoked", "decode_now", "decode_token", "verifies_now")


def verifies_now(config: SessionConfig[Any], store: SessionStore | None) -> bool:
    """Whether a token of ``config`` can be verified without awaiting anything: no key-lookup
    hook, no revocation store, no PBES2 key to derive off the event loop."""
    return (
        store is None
        and not config.codec.derives_keys
        and config.key_source is None
        and not config.hooks.has("on_key_lookup")
    )


def decode_now(config: SessionConfig[Any], token: str) -> tuple[dict[str, Any], Any]:
    """``(claims, typed claims)`` of ``token``: what the token itself proves, verified in place."""
    claims = config.codec.decode(token, now=config.clock())
    return claims, convert_claims(config, claims)


async def decode_token(
    config: SessionConfig[Any], token: str, *, connection: Any, run: Run, refusable: bool = True
) -> tuple[dict[str, Any], Any]:
    """:func:`decode_now` with the key an ``on_key_lookup`` hook gives and any PBES2 key derived
    off the event loop (``refusable=False``: wait for the derivation pool rather than be refused)."""
    key = await _key_for(config, token, connection, run)
    claims = await config.codec.decode_async(token, now=config.clock(), key=key, refusable=refusable)
    return claims, convert_claims(config, claims)


async def _key_for(config: SessionConfig[Any], token: str, connection: Any, run: Run) -> Any:
    """The key the config's key source, else an ``on_key_lookup`` hook, picks for ``token``
    (``None``: the configured keys)."""
    hooks, source = config.hooks, config.key_source
    if source is None and not hooks.has("on_key_lookup"):
        return None
    try:
        header = config.codec.header(token)  # inside: only SessionErrors leave this function
        event = HookEvent(connection=connection, config=config, header=header)
        if source is not None:
            return await run(source.key_lookup(event))
        return await run(hooks.first("on_key_lookup", event))
    except SessionError:
        raise
    except Exception as exc:
        raise SessionError(ErrorCode.KEY_LOOKUP_FAILED, f"key lookup failed: {safe_text(exc)}") from exc


async def check_not_revoked(
    store: SessionStore, config: SessionConfig[Any], claims: dict[str, Any], *, connection: Any, run: Run
) -> None:
    """Raise ``ERR_SESSION_REVOKED`` for a revoked token (the store may raise its own error)."""
    if await run(store.is_revoked(connection, config, claims)):
        raise SessionError(
            ErrorCode.SESSION_REVOKED,
            f"session {config.name!r}: token {safe_text(claims.get('jti'), quote=True)} was revoked",
            claims=dict(claims),
        )
