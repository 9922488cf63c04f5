"""Receivables reports (issue 20): aging, DSO, deliveries, matching rates and bank reconciliation."""
