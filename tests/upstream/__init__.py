"""Pytest ports of the upstream unjwt ``test/h3v2-session.test.ts`` suite (spec §6, groups A-E)."""
