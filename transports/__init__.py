"""Moving bytes: SFTP, atomic local files, PGP and drop folders. No formats, no database."""
