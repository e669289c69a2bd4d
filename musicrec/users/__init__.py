"""Simulated users: small objects with a seeded sampler and ``respond(item) -> Feedback``."""
