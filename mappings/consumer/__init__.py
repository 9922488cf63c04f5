"""Consumer channels' wire documents: Digipost API v8 (`digipost`), pure (no HTTP, no database)."""
