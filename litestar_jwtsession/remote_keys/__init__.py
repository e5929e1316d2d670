"""Verify access sessions with the public keys another service publishes (a remote JWK Set).

Needs the ``remote`` extra (httpx). This package sits beside ``session``: it knows JOSE and HTTP,
not Litestar, and plugs into a session config through its ``on_key_lookup`` hook.
"""

from __future__ import annotations

from litestar_jwtsession.remote_keys.source import KeyLookupEvent, RemoteJWKSet

__all__ = ("KeyLookupEvent", "RemoteJWKSet")
