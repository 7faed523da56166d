"""The nouns of the domain: nodes, scopes, resources, subjects, and the stored rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

ORGANIZATION = "organization"
WORKSPACE = "workspace"
PROJECT = "project"
LEVELS: tuple[str, ...] = (ORGANIZATION, WORKSPACE, PROJECT)
# The kind one level up; an organization has no parent.
PARENT_KIND = {WORKSPACE: ORGANIZATION, PROJECT: WORKSPACE}
CHILD_KIND = {ORGANIZATION: WORKSPACE, WORKSPACE: PROJECT}

USER = "user"
SERVICE_ACCOUNT = "service_account"
TEAM = "team"
SUBJECT_KINDS: tuple[str, ...] = (USER, SERVICE_ACCOUNT, TEAM)

WILDCARD = "*"


class Node(NamedTuple):
    """One node of the hierarchy. A tuple, so that it hashes fast as a dict key."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Scope:
    """A node as a caller names it: the most specific id, and optionally its ancestors."""

    organization_id: str = ""
    workspace_id: str = ""
    project_id: str = ""


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    id: str = ""

    @classmethod
    def parse(cls, text: str) -> Resource:
        """A resource as people write it: "type" (the type as a whole) or "type/id"."""
        rtype, _, rid = text.partition("/")
        return cls(rtype, rid)


def team_subject(team_id: str) -> str:
    return f"{TEAM}:{team_id}"


# Stored rows. Each is what one database row holds; a change puts or removes one.


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    id: str
    display_name: str = ""

    @property
    def node(self) -> Node:
        return Node(ORGANIZATION, self.id)


@dataclass(frozen=True, slots=True)
class WorkspaceRow:
    id: str
    organization_id: str
    display_name: str = ""

    @property
    def node(self) -> Node:
        return Node(WORKSPACE, self.id)


@dataclass(frozen=True, slots=True)
class ProjectRow:
    id: str
    workspace_id: str
    display_name: str = ""

    @property
    def node(self) -> Node:
        return Node(PROJECT, self.id)


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: str
    organization_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class MemberRow:
    team_id: str
    subject: str
    # Unix seconds from which the membership no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class BindingRow:
    id: str
    subject: str
    role: str
    node: Node
    created_revision: int = 0
    # Unix seconds from which the binding no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ShareRow:
    node: Node
    resource_type: str
    resource_id: str
    subject: str
    actions: frozenset[str]
    # Unix seconds from which the share no longer counts; 0.0 for never.
    expires_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RoleRow:
    """A custom role stored in the database (roles from policy files are not rows)."""

    name: str
    level: str
    base_role: str
    permissions: tuple[tuple[str, str], ...]


NodeRow = OrganizationRow | WorkspaceRow | ProjectRow
Row = OrganizationRow | WorkspaceRow | ProjectRow | TeamRow | MemberRow | BindingRow | ShareRow | RoleRow


@dataclass(frozen=True, slots=True)
class Put:
    """Insert one row."""

    row: Row


@dataclass(frozen=True, slots=True)
class Remove:
    """Delete one row; carries the whole row so that the change can be undone."""

    row: Row


Change = Put | Remove


def inverse(change: Change) -> Change:
    return Remove(change.row) if isinstance(change, Put) else Put(change.row)
