"""Routes for "your devices": a Litestar ``Controller`` an app mounts as it is or subclassed.

.. code-block:: python

    class Devices(DeviceSessionsController):
        path = "/api/sessions"

    app = Litestar([..., Devices], plugins=[JWTSessionPlugin(access=..., refresh=..., store=...)])

Every route is guarded by ``requires_session()`` (401 without a valid access session, documented
in OpenAPI with the rest) and acts on the subject (``sub``) of the admitting session:

- ``GET /sessions``: the caller's device sessions (:class:`DeviceSession`), the caller's own flagged
  ``current``.
- ``DELETE /sessions/{device_id}``: end one (204; 404 if the caller has no such session). Ending
  the current one also clears this request's sessions: it is a logout.
- ``POST /sessions/revoke-others``: end all but the current one (:class:`RevokedDeviceSessions`).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath  # noqa: TC002  # resolved at runtime by Litestar

from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.integration.device_api import (
    current_device_id,
    list_device_sessions,
    plugin_runtime,
    revoke_device_session,
    revoke_other_device_sessions,
)
from litestar_jwtsession.integration.devices import DeviceSession, RevokedDeviceSessions
from litestar_jwtsession.integration.guards import requires_session

__all__ = ("DeviceSessionsController",)


def _subject(request: Request[Any, Any, Any]) -> str | None:
    """The ``sub`` of the session the guard admitted (claims as a dict or a typed struct)."""
    auth = request.auth
    sub = auth.get("sub") if isinstance(auth, dict) else getattr(auth, "sub", None)
    return sub if isinstance(sub, str) and sub else None


class DeviceSessionsController(Controller):
    """The caller's device sessions: list them, end one, end all the others (see the module)."""

    path = "/sessions"
    guards = [requires_session()]  # noqa: RUF012  # Litestar's own attribute, read once at registration

    @get(
        "/",
        summary="List your device sessions",
        description="Every active session of the caller (one per login on a device), most recently "
        "refreshed first; `current` marks the one making this request.",
    )
    async def list_sessions(self, request: Request[Any, Any, Any]) -> list[DeviceSession]:
        sub = _subject(request)
        if sub is None:
            return []
        return await list_device_sessions(request, sub, current=await current_device_id(request))

    @delete(
        "/{device_id:str}",
        summary="Sign out one device session",
        description="Ends the device session `device_id` of the caller everywhere: its refresh "
        "session can no longer be used and its access session is refused. Ending the current "
        "session logs this client out.",
        raises=[NotFoundException],
    )
    async def end_session(self, request: Request[Any, Any, Any], device_id: FromPath[str]) -> None:
        sub = _subject(request)
        current = await current_device_id(request)  # before: a revoked refresh session reads as none
        if sub is None or not await revoke_device_session(request, sub, device_id):
            raise NotFoundException(detail="No such device session")
        if device_id == current:
            runtime = plugin_runtime(request)
            context = request_context(request)
            for config in (runtime.access, runtime.refresh):
                if config is not None:
                    await context.session(config).clear()

    @post(
        "/revoke-others",
        status_code=200,
        summary="Sign out every other device session",
        description="Ends every device session of the caller except the one making this request.",
    )
    async def end_other_sessions(self, request: Request[Any, Any, Any]) -> RevokedDeviceSessions:
        sub = _subject(request)
        if sub is None:
            return RevokedDeviceSessions(revoked=0)
        keep = await current_device_id(request)
        return RevokedDeviceSessions(revoked=await revoke_other_device_sessions(request, sub, keep=keep))
