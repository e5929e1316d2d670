"""The refresh fallback: a missing access session re-issued from the refresh session."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import msgspec

from litestar_jwtsession.errors import SessionError
from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.integration.families import BOOKKEEPING_CLAIMS
from litestar_jwtsession.session.claims import AUTH_TIME_CLAIM
from litestar_jwtsession.session.events import SessionEvent
from litestar_jwtsession.session.hooks import HookEvent
from litestar_jwtsession.session.lifetime import LIFETIME_CLAIM, birth_of
from litestar_jwtsession.session.session import REQUEST_REFUSALS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar_jwtsession.integration.stores import LitestarSessionStore
    from litestar_jwtsession.session.config import SessionConfig
    from litestar_jwtsession.session.events import Telemetry
    from litestar_jwtsession.session.lifetime import LifetimePolicy
    from litestar_jwtsession.session.session import Session

__all__ = ("reissue_from_refresh",)


def _access_data(data: Mapping[str, Any] | msgspec.Struct) -> dict[str, Any]:
    """A copy of ``data`` for the access session, without the refresh session's bookkeeping
    claims: the access token is readable by the client, and they are none of its business."""
    mapping = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    return {key: copy.deepcopy(value) for key, value in mapping.items() if key not in BOOKKEEPING_CLAIMS}


async def reissue_from_refresh(
    event: HookEvent,
    refresh_config: SessionConfig[Any],
    rotation: LitestarSessionStore | None,
    telemetry: Telemetry,
    lifetime: LifetimePolicy | None = None,
) -> None:
    """Re-issue the missing access session of ``event`` from the refresh session of
    ``refresh_config``, rotated first by ``rotation`` when rotation is on (unless this request
    re-issued it already: a slide rotates it too).

    Runs after the access config's own ``on_missing`` hooks. ``on_refresh`` hooks on the access
    config may veto (``False``) or supply the new data (a mapping or a ``msgspec.Struct``). A
    refresh session that is present but unusable is cleared so the browser drops it.

    With refresh-token rotation on (``JWTSessionPlugin(store=...)``), the refresh session is first
    rotated: re-issued with a new ``jti`` in the same family, or, when a concurrent request of the
    same client already rotated this token within the grace window, set to that request's
    successor, so racing responses carry identical refresh cookies. The default access data is
    then the rotated refresh session's data, without the library's bookkeeping claims (``fam``,
    ``fat``), which never reach the client-readable access token as they are; it carries the
    family's opaque handle (``fid``) instead, so a detected reuse revokes it with the family. If
    the token may not be rotated (reuse: see ``SessionHooks.on_reuse``) the refresh session is
    cleared and the access session stays anonymous.

    Under an absolute ``lifetime``, the access session carries the second its login began (the
    refresh family's, whatever the ``on_refresh`` hooks returned) and ends with it at the latest.

    Whatever the data, the access session's ``auth_time`` is the refresh session's (or none): a
    refresh is no login, so it never makes a session pass ``requires_fresh_login``.

    Reports a ``refresh`` event to ``telemetry`` whenever a valid refresh session was there: with
    outcome ``reissued``, ``vetoed`` (by ``on_refresh``), ``not_rotated`` (reuse, a revoked or
    unsealable successor) or ``failed`` (the access token could not be issued: its ``code``).
    """
    access: Session[Any] = event.session
    if access.is_valid:
        return  # another hook already re-issued it
    refresh = await request_context(event.connection).session(refresh_config).load()
    if not refresh.is_valid:
        if refresh.token is not None and refresh.refusal not in REQUEST_REFUSALS:
            await refresh.clear()  # a bad or lapsed refresh cookie: let the browser drop it
        return
    decision = await access.config.hooks.first(
        "on_refresh",
        HookEvent(
            connection=event.connection, config=access.config, session=access, old_session=refresh.snapshot()
        ),
    )
    name = access.config.name
    if decision is False:
        telemetry.emit(SessionEvent.REFRESH, session=name, outcome="vetoed")
        return
    if rotation is not None and not refresh.renewed and not await rotation.rotate(event.connection, refresh):
        telemetry.emit(SessionEvent.REFRESH, session=name, outcome="not_rotated")
        return
    data = _access_data(refresh.data if decision is None else decision)
    # a refresh is no login: the access session carries the refresh session's auth_time, never
    # a newer one (not even from an on_refresh hook), and none when the refresh session has none
    data.pop(AUTH_TIME_CLAIM, None)
    auth_time = refresh.data.get(AUTH_TIME_CLAIM)
    if auth_time is not None:
        data[AUTH_TIME_CLAIM] = auth_time
    if rotation is not None:
        data.update(rotation.access_claims(refresh))
    if lifetime is not None and lifetime.absolute_for(access.config) is not None and refresh.id is not None:
        data[LIFETIME_CLAIM] = birth_of(refresh.state_claims(refresh.id))
    try:
        await access.update(data, replace=True)
    except SessionError as error:
        # ``update`` rolled back and fired ``on_error``; the access session stays anonymous (401)
        telemetry.emit(SessionEvent.REFRESH, session=name, outcome="failed", code=error.code)
        return
    telemetry.emit(SessionEvent.REFRESH, session=name, outcome="reissued")
