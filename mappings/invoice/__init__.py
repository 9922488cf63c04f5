"""Invoice formats: canonical JSON, EHF/UBL, PDF, EDIFACT INVOIC and X12 810."""
