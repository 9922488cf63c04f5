"""Remittance files: camt.05x, OCR giro, REMADV and X12 820, all read into one model (and an Invoice Response
"paid" as a payment hint)."""
