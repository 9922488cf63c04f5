"""Tenants, tokens, receivers, participants, EDI trading partners and webhooks."""
