"""Revocation and refresh-token rotation shared over Redis (``examples.revocation_redis.app``)."""
