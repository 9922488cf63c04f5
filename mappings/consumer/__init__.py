"""Consumer channels' wire documents, pure (no HTTP, no database): Digipost API v8 (`digipost`) and
AvtaleGiro direct debit claims and agreements (`avtalegiro`, `avtalegiro_agreements`)."""
