"""CSRF protection for cookie-carried sessions: a double-submit token derived from the session.

Threat model
------------
A cross-site request forgery makes a victim's browser send a state-changing request (a form
``POST``, a ``fetch`` with ``credentials: "include"``) to the application; the browser attaches the
session cookies on its own. ``SameSite=Lax`` (the default cookie attribute) already stops the
cookies on cross-*site* ``POST``/``PUT``/``PATCH``/``DELETE``, but not:

- requests from another origin of the same *site* (a sibling subdomain such as
  ``evil.example.com`` against ``app.example.com``, or a hijacked subdomain);
- configs that set ``samesite="none"`` (embedded or cross-site apps) or ``samesite=None``;
- browsers that do not implement ``SameSite``.

With ``csrf=True`` on a session config, an *unsafe* request (any HTTP method but ``GET``,
``HEAD``, ``OPTIONS`` and ``TRACE``) whose session token came from a **cookie** must also carry
the header ``csrf_header`` (default ``x-csrf-token``) with the session's CSRF token:
``base64url(HMAC-SHA256(csrf_secret, jti))``. The token is written, whenever the session cookie
is, to a companion cookie ``<name>-csrf`` that JavaScript can read (same Path, Domain, Secure,
SameSite and Expires as the session cookie, never ``HttpOnly``), and is expired with it. A page
of another origin can neither read that cookie nor set a custom header on a simple cross-site
request (a custom header forces a CORS preflight), so it cannot forge the pair. Because the
token is bound to the ``jti`` by a server-side secret, a cookie planted by a sibling subdomain
(cookie tossing) does not help either, unless it comes with a genuine session.

A failed check (missing or wrong header) makes the session read as anonymous for that request
and fires ``on_error`` with ``ERR_CSRF_TOKEN_INVALID``; guards then answer 401. The refresh
fallback does not run for it. A session that arrived in the session *header* is exempt: a
cross-site page cannot set that header either, and API clients that use it need no CSRF token.

Not covered, on purpose: safe methods (never change state on ``GET``); WebSocket handshakes
(they are read-only here, but check ``Origin`` yourself against cross-site WebSocket hijacking);
login CSRF (a handler that *creates* a session needs no prior token); an attacker who can run
script on your origin (XSS reads the CSRF cookie, and ``HttpOnly`` would not stop it from
sending requests anyway).

One token proves the whole request: an unsafe request passes the check of every cookie session
it carries when its header holds the CSRF token of *one* of them, provided that session verifies
and both carry the same ``sub`` claim (or neither has one). So a page copies one readable
``-csrf`` cookie into one header, whichever session it belongs to, and a logout that sends the
access session's token also proves the refresh cookie it revokes. The ``sub`` condition keeps a
planted session of another account (cookie tossing) from vouching for the victim's cookies; give
your sessions a ``sub`` claim to get that protection.

The secret defaults to a derivation from the config's key material under a fixed label, so every
instance configured with the same key derives the same secret and tokens stay wire-compatible
with unjwt (no claim is added). A high-entropy key (an oct JWK, a private key) needs only an HMAC.
A password is different: a CSRF token is ``HMAC(secret, jti)`` and is readable by the page, so a
secret one HMAC away from the password would let any account holder test password guesses
offline at two HMACs each. A password is therefore stretched with PBKDF2-HMAC-SHA256 at the
config's PBES2 count (``pbes2_iterations``), so a guess costs at least what the sealed tokens
cost; this runs once per process and config, on first use. With a ``KeyPair`` the private key is
the material; a verify-only instance (public key only) has no secret to derive from and must be
given ``csrf_secret`` (the same on every instance) before CSRF protection can be turned on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

__all__ = ("SAFE_METHODS", "csrf_token", "derive_csrf_secret", "tokens_match")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that never need a CSRF token (RFC 9110 safe methods)."""

_LABEL = b"litestar-jwtsession csrf v1"


def _key_material(key: Any) -> bytes | None:
    from litestar_jwtsession.jose.keys import KeyPair

    if isinstance(key, KeyPair):
        if key.private_key is None:
            return None  # public keys are no secret: a CSRF secret cannot come from them
        source: Any = key.private_key
    else:
        source = key
    if isinstance(source, dict | list):
        return json.dumps(source, sort_keys=True, separators=(",", ":")).encode("utf-8")
    raise TypeError(f"cannot derive a CSRF secret from a key of type {type(key).__name__}")


def derive_csrf_secret(key: Any, name: str, password_iterations: int = 600_000) -> bytes | None:
    """A deterministic per-session-name secret derived from the session key, or ``None`` when the
    key holds nothing secret (a public-only ``KeyPair``): pass ``csrf_secret`` then.

    A JWK is HMAC-SHA256'd; a password (a JWE key ``str``) is stretched with PBKDF2-HMAC-SHA256 at
    ``password_iterations`` (the config's PBES2 count), so the readable CSRF tokens are no cheaper
    a password oracle than the sealed tokens are."""
    if key is None:
        return None
    info = _LABEL + b"\x00" + name.encode("utf-8")
    if isinstance(key, str):
        return _stretched(key.encode("utf-8"), info, max(password_iterations, 1))
    material = _key_material(key)
    if material is None:
        return None
    return hmac.new(material, info, hashlib.sha256).digest()


@lru_cache(maxsize=32)
def _stretched(password: bytes, salt: bytes, iterations: int) -> bytes:
    # memoised: several configs (and apps, and test cases) built from one password derive it once
    return hashlib.pbkdf2_hmac("sha256", password, salt, iterations)


def csrf_token(secret: bytes, jti: str) -> str:
    """The CSRF token of the session whose ``jti`` is given: base64url(HMAC-SHA256(secret, jti))."""
    digest = hmac.new(secret, jti.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def tokens_match(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of the expected token with the one the request presented."""
    if not presented:
        return False
    return hmac.compare_digest(expected.encode("ascii"), presented.strip().encode("latin-1"))
