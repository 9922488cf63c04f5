"""Receivables follow-up: dunning by the rules in force, notices as deliveries, disputes, promises to pay,
credit limits, collection hand-off and statements."""
