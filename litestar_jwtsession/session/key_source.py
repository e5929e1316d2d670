"""Keys found per token: what a session config verifies with when its key is a key source.

A key source (for example :class:`~litestar_jwtsession.RemoteJWKSet`, the published keys of
another service) is passed as a ``JWSSessionConfig``'s ``key``. The config then verifies every
token with the keys the source answers for its header, and can sign nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from litestar_jwtsession.jose.keys import KeyPair
    from litestar_jwtsession.session.hooks import HookEvent

__all__ = ("KeySource",)


@runtime_checkable
class KeySource(Protocol):
    """What a session config needs of a key source."""

    def verify_only_key(self, alg: str | None = None) -> KeyPair:
        """A public key for the config's codec that verifies nothing the source did not answer
        for (the codec needs a key of its own; every read asks :meth:`key_lookup`)."""
        ...

    async def key_lookup(self, event: HookEvent) -> Any:
        """The key(s) that verify the token whose protected header is ``event.header``; raises a
        ``SessionError`` when there are none."""
        ...
