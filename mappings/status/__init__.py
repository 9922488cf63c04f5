"""Status documents that come back: PEPPOL responses, e-mail DSNs, transport statuses (IFTSTA, X12 214) and
proof-of-delivery files."""
