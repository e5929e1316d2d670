"""A single-page app (plain HTML + fetch) on top of litestar-jwtsession; see ``app.py``."""
