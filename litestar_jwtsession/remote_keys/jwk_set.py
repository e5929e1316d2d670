"""Reading a fetched JWK Set: which of another service's keys may verify our access sessions.

The document is checked once, when it arrives, so that the per-request lookup is a dictionary
walk. A set that is not what an honest issuer publishes is refused as a whole
(``ERR_JWKS_INVALID``): not a JSON object with a ``keys`` array, more keys than allowed, or any
private key material (a ``d`` or an oct ``k``: the issuer leaks secrets, and a symmetric key
anyone can read must never verify anything). Single keys this verifier cannot use (encryption
keys, unknown key types, algorithms outside the allow-list) are skipped; a set left with no
usable key is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from joserfc.jwk import JWKRegistry

from litestar_jwtsession.errors import ErrorCode, SessionError, safe_text
from litestar_jwtsession.jose import JWK, JWS_ALGORITHMS, jws_allowed_algorithms

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = ("ASYMMETRIC_JWS_ALGORITHMS", "RemoteKey", "RemoteKeys", "parse_jwk_set")

ASYMMETRIC_JWS_ALGORITHMS = frozenset(alg for alg in JWS_ALGORITHMS if not alg.startswith("HS"))
"""The JWS algorithms a published key may verify: public-key signatures only."""

# Members that only a private (or symmetric) key has; their presence refuses the whole set.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# What a verification key is made of; everything else (x5c, ext, key_ops, ...) is left behind.
_PUBLIC_MEMBERS: dict[str, tuple[str, ...]] = {
    "RSA": ("kty", "n", "e"),
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
}


def _bounded_json(depth: int) -> Any:
    """The msgspec type of a JSON object whose values nest at most ``depth`` levels: hostile
    nesting is refused while decoding, before it can exhaust the stack."""
    value: Any = str | int | float | bool | None
    for _ in range(depth - 1):
        value = str | int | float | bool | None | list[value] | dict[str, value]
    return dict[str, value]


# {"keys": [{..., "oth": [{...}]}]}: five levels for the deepest honest member
_DOCUMENT = msgspec.json.Decoder(_bounded_json(6))


@dataclass(frozen=True, slots=True)
class RemoteKey:
    """One usable verification key: its ``kid`` and its public JWK for each allowed algorithm
    (a key without ``alg`` gets the token's, which the codec needs to pick the algorithm)."""

    kid: str | None
    by_alg: Mapping[str, JWK]


@dataclass(frozen=True, slots=True)
class RemoteKeys:
    """The usable keys of one fetched JWK Set."""

    keys: tuple[RemoteKey, ...]

    def matching(self, kid: str | None, alg: str) -> list[JWK]:
        """The public JWKs that may verify a token with this ``kid`` and ``alg``: a token naming a
        ``kid`` gets only the keys with that ``kid``; a token without one gets every key."""
        return [key.by_alg[alg] for key in self.keys if alg in key.by_alg and (kid is None or key.kid == kid)]


def _invalid(message: str) -> SessionError:
    return SessionError(ErrorCode.JWKS_INVALID, f"remote JWK Set refused: {message}")


def parse_jwk_set(body: bytes, *, algorithms: Collection[str], max_keys: int) -> RemoteKeys:
    """The usable keys of the JWK Set document ``body``; ``ERR_JWKS_INVALID`` when it is refused.

    ``algorithms`` is the allow-list of token algorithms (asymmetric JWS algorithms only).
    """
    try:
        document = _DOCUMENT.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _invalid(f"not a JSON object of bounded depth ({safe_text(exc)})") from exc
    members = document.get("keys")
    if not isinstance(members, list):
        raise _invalid('no "keys" array')
    if len(members) > max_keys:
        raise _invalid(f"{len(members)} keys, more than the {max_keys} allowed")
    keys: list[RemoteKey] = []
    skipped: list[str] = []
    for index, jwk in enumerate(members):
        if not isinstance(jwk, dict):
            raise _invalid(f"key #{index} is not a JSON object")
        leaked = _PRIVATE_MEMBERS.intersection(jwk)
        if leaked:
            raise _invalid(f"key #{index} carries private key material ({', '.join(sorted(leaked))})")
        key, reason = _usable(jwk, algorithms)
        if key is None:
            skipped.append(f"#{index}: {reason}")
        else:
            keys.append(key)
    if not keys:
        detail = "; ".join(skipped) if skipped else "the set is empty"
        raise _invalid(f"no key verifies {'/'.join(sorted(algorithms))} ({safe_text(detail)})")
    return RemoteKeys(tuple(keys))


def _usable(jwk: dict[str, Any], algorithms: Collection[str]) -> tuple[RemoteKey | None, str]:
    """One published key as a :class:`RemoteKey`, or ``None`` and why this verifier skips it."""
    kty, kid, use, key_ops = jwk.get("kty"), jwk.get("kid"), jwk.get("use"), jwk.get("key_ops")
    members = _PUBLIC_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        return None, f"unsupported key type {kty!r}"
    if kid is not None and not isinstance(kid, str):
        return None, "kid is not a string"
    if use is not None and use != "sig":
        return None, f"use is {use!r}, not 'sig'"
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None, "key_ops does not allow 'verify'"
    public: JWK = {name: jwk[name] for name in members if name in jwk}
    if kid is not None:
        public["kid"] = kid
    declared = jwk.get("alg")
    algs: list[str] = []
    for alg in sorted(algorithms):
        try:
            # the key's own alg is authoritative; without one, the key's shape must fit alg
            jws_allowed_algorithms(jwk if declared is not None else public, alg=alg)
        except ValueError:
            continue
        algs.append(alg)
    if not algs:
        return None, f"alg {declared!r} is not allowed" if declared is not None else "fits no allowed alg"
    try:
        JWKRegistry.import_key(public)
    except Exception as exc:  # joserfc raises several types for bad key material
        return None, f"unreadable key material ({type(exc).__name__})"
    return RemoteKey(kid, {alg: {**public, "alg": alg} for alg in algs}), ""
