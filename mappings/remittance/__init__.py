"""Remittance files: camt.05x, OCR giro, REMADV and X12 820, all read into one model."""
