"""Finding (or creating) the admin token and the optional check token."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from authz.api.interceptors.auth import Tokens
from authz.config import Settings

log = logging.getLogger(__name__)
ENV_TOKEN = "AUTHZ_ADMIN_TOKEN"


def _read(path: Path) -> str:
    token = path.read_text().strip()
    if not token:
        raise SystemExit(f"{path} is empty")
    return token


def admin_token(settings: Settings, create: bool) -> str | None:
    """AUTHZ_ADMIN_TOKEN, else --admin-token-file, else authz-admin.token (created mode 0600
    with a random token when `create`)."""
    if os.environ.get(ENV_TOKEN):
        return os.environ[ENV_TOKEN].strip()
    if settings.admin_token_file:
        return _read(Path(settings.admin_token_file))
    path = settings.default_token_path()
    if path.exists():
        return _read(path)
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    log.warning("no admin token configured: created one in %s (mode 0600)", path.resolve())
    return token


def server_tokens(settings: Settings) -> Tokens:
    admin = admin_token(settings, create=True)
    assert admin is not None
    check = _read(Path(settings.check_token_file)) if settings.check_token_file else None
    return Tokens(admin=admin, check=check)
