"""Consumer invoicing formats: what Norwegian consumers' channels speak (AvtaleGiro direct debit, …)."""
