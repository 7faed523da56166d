"""Decisions: the three rules of the README's "Decision semantics", served from the Index.

One function finds the grant; `check` only asks whether there is one, and explain.py describes
it, so the hot path builds no explanation."""

from __future__ import annotations

from authz.domain.model import CHILD_KIND, LEVELS, ORGANIZATION, Node

from .index import Index
from .policy import Policy

RULE_NONE = 0
RULE_ROLE_BINDING = 1
RULE_RESOURCE_SHARE = 2
RULE_MEMBERSHIP = 3


def _binding_grant(index: Index, policy: Policy, subjects, chain, rtype: str, action: str):
    by_subject = index.by_subject
    allows = policy.allows
    for subject in subjects:
        entry = by_subject.get(subject)
        if entry is None:
            continue
        roles_by_node = entry.roles
        for node in chain:
            roles = roles_by_node.get(node)
            if roles:
                for role, binding_id in roles.items():
                    if allows(role, rtype, action):
                        return binding_id, subject
    return None


def member_node(index: Index, chain: tuple[Node, ...], rtype: str, rid: str) -> Node | None:
    """Rule 3's node m: a node of kind `rtype` and id `rid` whose parent is the asked node
    (or the asked node itself for an organization)."""
    if rtype not in LEVELS:
        return None
    node = chain[0]
    if rtype == ORGANIZATION:
        return node if node.kind == ORGANIZATION and node.id == rid else None
    if CHILD_KIND.get(node.kind) != rtype:
        return None
    target = Node(rtype, rid)
    return target if index.parent.get(target) == node else None


def find_grant(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, chain):
    """(rule, detail, via subject) of the first grant, or None. `chain` must be known."""
    subjects = index.subjects(subject)
    found = _binding_grant(index, policy, subjects, chain, rtype, action)
    if found is not None:
        return RULE_ROLE_BINDING, found[0], found[1]
    if not rid:
        return None
    by_subject = index.shares.get((chain[0], rtype, rid))
    if by_subject:
        for who in subjects:
            share = by_subject.get(who)
            if share is not None and action in share.actions:
                return RULE_RESOURCE_SHARE, share, who
    if action == "read":
        member = member_node(index, chain, rtype, rid)
        if member is not None:
            for who in subjects:
                if index.is_member(who, member):
                    return RULE_MEMBERSHIP, member, who
    return None


def allowed(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, chain) -> bool:
    """`find_grant(...) is not None`, without describing the grant: the hot path of every check.
    `chain` must be known."""
    return allowed_for(index, policy, index.by_subject.get(subject), subject, action, rtype, rid, chain)


def allowed_for(index: Index, policy: Policy, entry, subject: str, action: str, rtype: str, rid: str, chain) -> bool:
    """`allowed`, given `entry = index.by_subject.get(subject)`. One lookup in a big dict per
    subject and team; the rest are lookups in their own small dicts, and rule 1 is settled
    by a set operation in C."""
    if entry is None:  # no roles, teams or shares: nothing can grant
        return False
    teams = entry.teams
    granting = policy.granting(rtype, action)
    if granting:
        for node in chain:
            roles = entry.roles.get(node)
            if roles is not None and not granting.isdisjoint(roles):
                return True
        if teams:
            by_subject = index.by_subject
            for team in teams:
                team_entry = by_subject.get(team)
                if team_entry is not None:
                    for node in chain:
                        roles = team_entry.roles.get(node)
                        if roles is not None and not granting.isdisjoint(roles):
                            return True
    return bool(rid) and allowed_beyond_roles(index, entry, action, rtype, rid, chain)


def held_roles(index: Index, entry, chain) -> frozenset[str]:
    """The roles `entry`'s subject holds on the nodes of `chain`, itself or through its teams:
    rule 1 for every (type, action) at once, `not policy.granting(type, action).isdisjoint(held)`.
    A batch's run of items with one subject and scope finds them once."""
    held: set[str] = set()
    for roles_by_node in _roles_of(index, entry):
        for node in chain:
            roles = roles_by_node.get(node)
            if roles:
                held.update(roles)
    return frozenset(held)


def _roles_of(index: Index, entry):
    yield entry.roles
    if entry.teams:
        by_subject = index.by_subject
        for team in entry.teams:
            team_entry = by_subject.get(team)
            if team_entry is not None:
                yield team_entry.roles


def allowed_beyond_roles(index: Index, entry, action: str, rtype: str, rid: str, chain) -> bool:
    """Rules 2 and 3 for a subject with an entry and a resource id: a share of the resource on
    the node, or reading a child node the subject holds a binding on or below."""
    teams = entry.teams
    # Rule 2.
    key = (chain[0], rtype, rid)
    shared = entry.shared
    if shared is not None:
        actions = shared.get(key)
        if actions is not None and action in actions:
            return True
    if teams:
        by_subject = index.by_subject
        for team in teams:
            team_entry = by_subject.get(team)
            if team_entry is not None and team_entry.shared is not None:
                actions = team_entry.shared.get(key)
                if actions is not None and action in actions:
                    return True
    # Rule 3.
    if action == "read" and rtype in LEVELS:
        member = member_node(index, chain, rtype, rid)
        if member is not None:
            if member in entry.members:
                return True
            if teams:
                return any(index.is_member(team, member) for team in teams)
    return False


def check(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, node: Node) -> bool:
    chain = index.chains.get(node)
    return chain is not None and allowed(index, policy, subject, action, rtype, rid, chain)


def list_allowed(
    index: Index, policy: Policy, subject: str, action: str, rtype: str, node: Node
) -> tuple[bool, list[str]]:
    """(full_access, sorted ids): rule 1 at the node, else the ids rules 2 and 3 grant."""
    chain = index.chain(node)
    if chain is None:
        return False, []
    subjects = index.subjects(subject)
    if _binding_grant(index, policy, subjects, chain, rtype, action) is not None:
        return True, []
    ids: set[str] = set()
    for who in subjects:
        shared = index.shared_with.get((who, node, rtype))
        if shared:
            ids.update(rid for rid, actions in shared.items() if action in actions)
    if action == "read":
        if rtype == ORGANIZATION and node.kind == ORGANIZATION:
            if any(index.is_member(who, node) for who in subjects):
                ids.add(node.id)
        elif CHILD_KIND.get(node.kind) == rtype:
            for who in subjects:
                ids.update(child.id for child in index.member_children_of(who, node))
    return False, sorted(ids)
