"""The Litestar layer: the plugin and its runtime, the request context, guards, hooks, stores."""
