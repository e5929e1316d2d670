"""Per-request session state, cookies, hooks and the functional API (framework-neutral core)."""
