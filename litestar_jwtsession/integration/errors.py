"""The configuration error of the Litestar layer."""

from __future__ import annotations

from litestar.exceptions import ImproperlyConfiguredException

from litestar_jwtsession.errors import ConfigurationError

__all__ = ("ImproperlyConfigured",)


class ImproperlyConfigured(ConfigurationError, ImproperlyConfiguredException):
    """A plugin, guard or store setting that cannot work: a :class:`ConfigurationError` that
    Litestar's own handling of ``ImproperlyConfiguredException`` recognises too."""
