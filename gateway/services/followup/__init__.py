"""Receivables follow-up: reminders by the rules in force, notices as deliveries, disputes, promises."""
