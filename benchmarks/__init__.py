"""Benchmarks of litestar-jwtsession against Litestar's own JWT auth (``make bench``)."""
