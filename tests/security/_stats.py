"""Counters of the hostile-input suite, printed by ``conftest.pytest_terminal_summary``."""

from collections import Counter

STATS: Counter[str] = Counter()
"""``inputs``: generated inputs; ``requests``: HTTP requests sent; ``rejected``: responses with no
valid session (401, or anonymous); ``accepted``: responses with a valid session; ``server_errors``:
responses with a status >= 500 (must stay 0)."""
