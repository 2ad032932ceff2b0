"""Generated passwords of the servers the toolkit starts, kept in a file only the user can read."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def stored_password(path: Path, user: str) -> str:
    """The password kept in ``path`` (``{"user", "password"}``, mode 0600), generated on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"user": user, "password": secrets.token_urlsafe(24)}, handle)
    return json.loads(path.read_text())["password"]
