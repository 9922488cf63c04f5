"""Receivables follow-up: reminders, disputes, promises, credit limits, collection and statements."""
