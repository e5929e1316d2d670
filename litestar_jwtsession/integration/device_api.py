"""Device sessions from a handler, a background task or an admin tool: list a subject's device
sessions, end one, end all but one. Everything lives in the plugin's store, so any instance of the
app sharing it (a ``RedisStore``) answers the same and ends sessions everywhere.

.. code-block:: python

    @get("/my-devices", guards=[requires_session()])
    async def my_devices(request: Request, access: NamedDependency[Session[Any]]) -> list[DeviceSession]:
        current = await current_device_id(request)
        return await list_device_sessions(request, access.data["sub"], current=current)

:class:`~litestar_jwtsession.integration.device_routes.DeviceSessionsController` serves these as
routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar_jwtsession.integration.context import request_context
from litestar_jwtsession.integration.errors import ImproperlyConfigured
from litestar_jwtsession.integration.families import FAMILY_HANDLE_CLAIM, family_handle, family_of
from litestar_jwtsession.integration.plugin import JWTSessionPlugin
from litestar_jwtsession.integration.stores import app_of

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from litestar_jwtsession.integration.devices import DeviceRegistry, DeviceSession
    from litestar_jwtsession.integration.runtime import SessionRuntime

__all__ = (
    "current_device_id",
    "list_device_sessions",
    "revoke_device_session",
    "revoke_other_device_sessions",
)


def plugin_runtime(connection_or_app: Any) -> SessionRuntime:
    """The runtime of the app's ``JWTSessionPlugin`` (``connection_or_app``: the app or a connection)."""
    return app_of(connection_or_app).plugins.get(JWTSessionPlugin).runtime


def _registry(connection_or_app: Any) -> DeviceRegistry:
    registry = plugin_runtime(connection_or_app).devices
    if registry is None:
        raise ImproperlyConfigured(
            "device sessions need JWTSessionPlugin(store=...) with access=, refresh=, the refresh "
            "fallback and refresh-token rotation (and not devices=False)"
        )
    return registry


async def list_device_sessions(
    connection_or_app: Any, sub: str, *, current: str | None = None
) -> list[DeviceSession]:
    """The active device sessions of ``sub``, most recently refreshed first, with ``current`` (a
    device id, e.g. :func:`current_device_id`) flagged.

    ``connection_or_app`` is the Litestar app or a connection of it (its plugin holds the store).
    """
    return await _registry(connection_or_app).sessions(connection_or_app, sub, current)


async def revoke_device_session(connection_or_app: Any, sub: str, device_id: str) -> bool:
    """End the device session ``device_id`` of ``sub`` on every instance: its refresh family is
    revoked (its refresh tokens, and the access tokens carrying its id, read as revoked from now
    on). ``False`` when ``sub`` has no such active session (nothing is revoked then)."""
    return await _registry(connection_or_app).revoke(connection_or_app, sub, device_id)


async def revoke_other_device_sessions(connection_or_app: Any, sub: str, *, keep: str | None) -> int:
    """End every device session of ``sub`` but ``keep`` (e.g. :func:`current_device_id`; ``None``
    ends them all); returns how many were ended."""
    return await _registry(connection_or_app).revoke_others(connection_or_app, sub, keep)


async def current_device_id(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The id of the device session of this request: the one its access session was issued with,
    else the family of its refresh session; ``None`` when it has neither."""
    runtime = plugin_runtime(connection)
    context = request_context(connection)
    if runtime.access is not None:
        access = await context.session(runtime.access).load()
        handle = access.data.get(FAMILY_HANDLE_CLAIM) if access.is_valid else None
        if isinstance(handle, str) and handle:
            return handle
    if runtime.refresh is not None:
        refresh = await context.session(runtime.refresh).load()
        family = family_of(refresh.data, refresh.id) if refresh.is_valid else None
        if family is not None:
            return family_handle(family)
    return None
