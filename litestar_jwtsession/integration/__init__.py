"""The Litestar layer: plugin, middleware, guards."""
