"""Receivables follow-up: dunning, notices, disputes, promises to pay, credit limits and statements."""
