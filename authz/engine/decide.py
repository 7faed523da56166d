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
    roles_at = index.roles_at
    allows = policy.allows
    for subject in subjects:
        for node in chain:
            roles = roles_at.get((subject, node))
            if roles:
                for role, binding_id in roles.items():
                    if allows(role, rtype, action):
                        return binding_id, subject
    return None


def _member_node(index: Index, chain: tuple[Node, ...], rtype: str, rid: str) -> Node | None:
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
        member = _member_node(index, chain, rtype, rid)
        if member is not None:
            for who in subjects:
                if (who, member) in index.member_count:
                    return RULE_MEMBERSHIP, member, who
    return None


def check(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, node: Node) -> bool:
    chain = index.chain(node)
    return chain is not None and find_grant(index, policy, subject, action, rtype, rid, chain) is not None


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
            if any((who, node) in index.member_count for who in subjects):
                ids.add(node.id)
        elif CHILD_KIND.get(node.kind) == rtype:
            for who in subjects:
                children = index.member_children.get((who, node))
                if children:
                    ids.update(child.id for child in children)
    return False, sorted(ids)
