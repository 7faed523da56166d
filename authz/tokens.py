"""Finding (or creating) the admin token, the optional check token and the tokens file."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from authz.api.interceptors.auth import Tokens
from authz.config import Settings
from authz.domain.errors import ConfigError
from authz.token_file import TokenFile

log = logging.getLogger(__name__)
ENV_TOKEN = Settings.env_name("admin_token")  # AUTHZ_ADMIN_TOKEN
HOW_TO_POINT = f"give --admin-token-file FILE ({Settings.env_name('admin_token_file')}) or set {ENV_TOKEN}"


@dataclass(frozen=True)
class AdminToken:
    """The admin token, or None, and where it came from (or, when None, where it was looked for)."""

    value: str | None
    source: str


def read_token(path: Path, named: str) -> str:
    """The token in `path`, which the setting `named` gave; ConfigError saying what is wrong."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(f"{named}: {path} does not exist; give the file that holds the token") from None
    except IsADirectoryError:
        raise ConfigError(f"{named}: {path} is a directory; give the file that holds the token") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"{named}: cannot read {path}: {reason}") from None
    if not token:
        raise ConfigError(f"{named}: {path} is empty; write the token into it")
    return token


def find_admin_token(settings: Settings) -> AdminToken:
    """AUTHZ_ADMIN_TOKEN, else --admin-token-file, else authz-admin.token at the default path
    (beside a SQLite database, else in the working directory)."""
    if settings.admin_token.strip():
        return AdminToken(settings.admin_token.strip(), ENV_TOKEN)
    if settings.admin_token_file:
        path = Path(settings.admin_token_file)
        return AdminToken(read_token(path, Settings.named("admin_token_file")), str(path.resolve()))
    path = settings.default_token_path().resolve()
    if path.exists():
        return AdminToken(read_token(path, f"the admin token file {path}"), str(path))
    return AdminToken(None, f"no admin token: {ENV_TOKEN} and --admin-token-file are not set and {path} "
                            f"does not exist; {HOW_TO_POINT}")


def create_admin_token(settings: Settings) -> str:
    """A random admin token, written to the default path (mode 0600)."""
    path = settings.default_token_path().resolve()
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
    except OSError as error:
        raise ConfigError(
            f"cannot create the admin token file {path}: {error.strerror}; start from a writable directory, "
            f"or {HOW_TO_POINT}"
        ) from None
    log.warning("no admin token configured: created one in %s (mode 0600)", path)
    return token


def server_tokens(settings: Settings) -> Tokens:
    found = find_admin_token(settings)
    if found.value is None:
        admin = create_admin_token(settings)
    else:
        admin = found.value
        # Every start says which token is in force (never the token itself).
        log.info("admin token: %s", "from " + ENV_TOKEN if found.source == ENV_TOKEN else f"read from {found.source}")
    check = None
    if settings.check_token_file:
        check = read_token(Path(settings.check_token_file), Settings.named("check_token_file"))
    named = TokenFile(Path(settings.tokens_file)) if settings.tokens_file else None  # TokenFileError
    return Tokens(admin=admin, check=check, file=named)
