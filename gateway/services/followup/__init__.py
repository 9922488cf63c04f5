"""Receivables follow-up: dunning rules, the daily run, notices, disputes, promises, credit, collection."""
