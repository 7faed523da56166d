"""Syntax of everything a caller sends. Strict, so that nothing can break out of a
Casbin CSV field or a log line: no commas, quotes, spaces, colons or newlines in ids."""

from __future__ import annotations

import re

from .errors import InvalidArgument
from .model import SUBJECT_KINDS, WILDCARD

ID_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,128}")
# Resource types, actions and role names: lower-case words joined by underscores.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")

ID_RULE = "1 to 128 characters of letters, digits, '.', '_', '-' and '@'"
NAME_RULE = "a lower-case letter followed by up to 63 lower-case letters, digits or '_'"


def _shown(value: str) -> str:
    """A value quoted for an error message, cut short and with control characters escaped."""
    text = value if len(value) <= 40 else value[:40] + "..."
    return repr(text)


def check_id(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument("is required", field)
    if not ID_PATTERN.fullmatch(value):
        raise InvalidArgument(f"{_shown(value)} is not a valid id: use {ID_RULE}", field)
    return value


def check_name(value: str, field: str, what: str) -> str:
    """A resource type, an action or a role name. `*` is never accepted here."""
    if not value:
        raise InvalidArgument("is required", field)
    if value == WILDCARD:
        raise InvalidArgument(f"'*' is not allowed as a {what} here; name one", field)
    if not NAME_PATTERN.fullmatch(value):
        raise InvalidArgument(f"{_shown(value)} is not a valid {what}: use {NAME_RULE}", field)
    return value


def check_subject(value: str, field: str, kinds: tuple[str, ...] = SUBJECT_KINDS) -> tuple[str, str]:
    """Split "kind:id" and check both parts; `kinds` narrows the kinds accepted."""
    if not value:
        raise InvalidArgument("is required", field)
    kind, sep, ident = value.partition(":")
    if not sep or kind not in SUBJECT_KINDS:
        expected = ", ".join(f"'{k}:<id>'" for k in kinds)
        raise InvalidArgument(f"{_shown(value)} is not a subject: expected {expected}", field)
    if kind not in kinds:
        raise InvalidArgument(f"a {kind} is not allowed here; expected {', '.join(kinds)}", field)
    if not ID_PATTERN.fullmatch(ident):
        raise InvalidArgument(f"{_shown(value)} has an invalid id: use {ID_RULE}", field)
    return kind, ident


def check_display_name(value: str, field: str) -> str:
    if len(value) > 256:
        raise InvalidArgument(f"is {len(value)} characters long; at most 256 are allowed", field)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidArgument("must not contain control characters", field)
    return value
