"""The installation's signing key: signs the console's and the portal's cookies and the portal's links.

`GATEWAY_CONSOLE_SECRET` when set (several hosts must share it); else a random key made once and kept beside
the embedded database (`data_dir/console-secret`, mode 0600). Every use takes its own `salt`, so a value
signed for one purpose is never accepted for another.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.settings import Settings


def signing_key(settings: Settings) -> bytes:
    """`GATEWAY_CONSOLE_SECRET`, else a random key made once and kept beside the embedded database."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value().encode()
    path = Path(settings.data_dir) / "console-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(descriptor, "w") as key_file:
                key_file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
