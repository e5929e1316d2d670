"""Example applications of litestar-jwtsession."""
