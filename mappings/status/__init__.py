"""Status documents that come back: PEPPOL responses, e-mail DSNs, transport statuses."""
