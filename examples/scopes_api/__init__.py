"""Scope-guarded notes API with typed claims and a refresh session (``examples.scopes_api.app``)."""
