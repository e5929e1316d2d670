"""The seed example: JWS access session refreshed from a JWE refresh session (``examples.seed.app``)."""
