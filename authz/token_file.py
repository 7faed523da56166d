"""Named tokens with scopes, kept in a file an operator edits: one token a line,

    # name      scope        hash of the token
    zenml-prod  integration  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

never the token itself. Tokens are 32 random bytes, so a plain SHA-256 is enough to keep a
stolen file from yielding them (no password stretching is needed for random secrets), and the
server compares digests in constant time. `authz token create` appends a line; deleting a line
revokes that token. The server re-reads the file when it changes, so rotation needs no restart.

Standard library only: the server's interceptor and the command line both use it."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from authz.domain.errors import ConfigError

log = logging.getLogger(__name__)

CHECK = "check"
INTEGRATION = "integration"
AUDIT = "audit"
ADMIN = "admin"
SCOPES: tuple[str, ...] = (CHECK, INTEGRATION, AUDIT, ADMIN)
# What each scope allows, as the scopes whose calls it may make: integration and audit each
# add their own calls to the checks, neither includes the other, and admin includes them all.
ALLOWS: dict[str, frozenset[str]] = {
    CHECK: frozenset({CHECK}),
    INTEGRATION: frozenset({CHECK, INTEGRATION}),
    AUDIT: frozenset({CHECK, AUDIT}),
    ADMIN: frozenset(SCOPES),
}
# The names of the tokens given by AUTHZ_ADMIN_TOKEN / --admin-token-file and --check-token-file.
RESERVED_NAMES = frozenset({ADMIN, CHECK})
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
TOKEN_PREFIX = "authz_"


class TokenFileError(ConfigError):
    """The tokens file cannot be used; the message names the file and line."""


def includes(held: str, needed: str) -> bool:
    """Does scope `held` allow what scope `needed` allows?"""
    return needed in ALLOWS[held]


def digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    scope: str
    digest: str


def parse(text: str, source: str) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    names: set[str] = set()
    digests: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        parts = line.split()
        if len(parts) != 3:
            raise TokenFileError(f"{where}: expected 'NAME SCOPE sha256:HEX', got {len(parts)} fields")
        name, scope, value = parts
        check_name(name, where)
        if scope not in SCOPES:
            raise TokenFileError(f"{where}: unknown scope {scope!r} (use one of {', '.join(SCOPES)})")
        if not DIGEST_PATTERN.fullmatch(value):
            raise TokenFileError(f"{where}: the hash must be 'sha256:' and 64 lower-case hex digits")
        if name in names:
            raise TokenFileError(f"{where}: the name {name!r} is used twice")
        if value in digests:
            raise TokenFileError(f"{where}: the same token is listed twice")
        names.add(name)
        digests.add(value)
        entries.append(Entry(name, scope, value))
    return tuple(entries)


def check_name(name: str, where: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise TokenFileError(f"{where}: {name!r} is not a token name: use 1 to 64 letters, digits, '.', '_', '-'")
    if name in RESERVED_NAMES:
        raise TokenFileError(
            f"{where}: the name {name!r} is reserved for the token of --{name}-token-file"
        )


def read(path: Path) -> tuple[Entry, ...]:
    try:
        text = path.read_text()
    except OSError as error:
        raise TokenFileError(f"{path}: cannot be read: {error.strerror}") from None
    return parse(text, str(path))


def append(path: Path, name: str, scope: str) -> str:
    """Create a token called `name` with `scope`, append its hash to `path` (created mode 0600
    when missing) and answer the token, which is stored nowhere."""
    check_name(name, str(path))
    if scope not in SCOPES:
        raise TokenFileError(f"unknown scope {scope!r} (use one of {', '.join(SCOPES)})")
    token = new_token()
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # two appends at once must not interleave
            if os.fstat(handle.fileno()).st_ino != _inode(path):
                continue  # `remove` replaced the file while we waited: append to the new one
            handle.seek(0)
            text = handle.read()
            existing = parse(text, str(path))
            if any(entry.name == name for entry in existing):
                raise TokenFileError(f"{path}: a token named {name!r} exists already; revoke it first")
            separator = "" if not text or text.endswith("\n") else "\n"
            handle.write(f"{separator}{name} {scope} {digest(token)}\n")
            handle.flush()
            os.fsync(handle.fileno())
            break
    return token


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def remove(path: Path, name: str) -> bool:
    """Drop the line of token `name` (keeping comments and the other lines); False if absent."""
    with open(path, "r+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lines = handle.read().splitlines(keepends=True)
        parse("".join(lines), str(path))
        kept = [line for line in lines if line.split("#", 1)[0].split()[:1] != [name]]
        if len(kept) == len(lines):
            return False
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(kept))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)  # one step: the server never reads half a file
    return True


class TokenFile:
    """The entries of a tokens file, re-read when the file changes (looked at no more than every
    `interval` seconds, so a check pays one clock read). A file that becomes unreadable or
    malformed keeps the last good entries and says so in the log; one that disappears revokes
    them all."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self.entries = read(path)  # at start-up a bad file is an error, not a log line
        self._looked = time.monotonic()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def current(self) -> tuple[Entry, ...]:
        now = time.monotonic()
        if now - self._looked >= self.interval:
            with self._lock:
                if now - self._looked >= self.interval:
                    self._refresh()
                    self._looked = now
        return self.entries

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None:
            log.warning("tokens file %s is gone: its tokens are no longer accepted", self.path)
            self.entries = ()
            return
        try:
            self.entries = read(self.path)
        except TokenFileError as error:
            log.error("tokens file changed but cannot be used, keeping the previous tokens: %s", error)
            return
        log.info("tokens file %s re-read: %d tokens", self.path, len(self.entries))

    def find(self, presented_digest: str) -> Entry | None:
        """The entry whose digest equals `presented_digest`, comparing with every entry in
        constant time."""
        found = None
        for entry in self.current():
            if hmac.compare_digest(entry.digest, presented_digest):
                found = entry
        return found
