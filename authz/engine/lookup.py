"""Reverse lookups: who may do an action on a resource at a node, and what one subject (or a
whole organization) holds. The same three rules as decide.py, asked the other way round.

Nothing here walks every binding: "who can" reads the bindings on the node's chain
(`bindings_by_node`), the shares of the one resource (`shares`), the members of the teams
found (`members`) and, for rule 3, the bindings on or below the one node read; "what does a
subject hold" reads that subject's and its teams' own entries. Answers are sorted, so a
page is a slice of the same order at the same revision."""

from __future__ import annotations

from typing import NamedTuple

from authz.domain.model import ORGANIZATION, TEAM, BindingRow, Node, ShareRow

from .decide import RULE_MEMBERSHIP, RULE_RESOURCE_SHARE, RULE_ROLE_BINDING, member_node
from .index import Index
from .policy import Policy

TEAM_PREFIX = TEAM + ":"

__all__ = [
    "RULE_MEMBERSHIP",
    "RULE_RESOURCE_SHARE",
    "RULE_ROLE_BINDING",
    "AccessRow",
    "Allowed",
    "Grant",
    "node_access",
    "organization_nodes",
    "subject_access",
    "subjects_page",
    "who_can",
]


class Grant(NamedTuple):
    """One reason a subject is allowed. Rule 1: `binding` granted (`wildcard` when only a `*`
    permission of its role matches). Rule 2: `share` granted. Rule 3: the subject can see
    `member_of` because of `binding`, which sits on it or below it. `via_team` is the team
    the grant came through ("" for the subject's own). A tuple: a listing makes thousands."""

    rule: int
    binding: BindingRow | None = None
    share: ShareRow | None = None
    via_team: str = ""
    wildcard: bool = False
    member_of: Node | None = None


class Allowed(NamedTuple):
    subject: str
    grants: tuple[Grant, ...]


class AccessRow(NamedTuple):
    """One line of a subject's access: `grant` held by `subject`, on `node` (the binding's or
    share's node, or the node seen by membership)."""

    subject: str
    node: Node
    grant: Grant


def _only_wildcards(policy: Policy, role: str, rtype: str, action: str) -> bool:
    """Is every permission of the role (and its base roles) that matches a `*` one?"""
    for permission in policy.effective_permissions(role):
        if permission.resource_type == rtype and permission.action == action:
            return False
    return True


def _add(found: dict[str, list[Grant]], members: dict[str, set[str]], holder: str, own: Grant,
         through: Grant | None) -> None:
    """Record `own` for the holder and, when the holder is a team, `through` (the same grant
    with via_team set) for each of its members."""
    bucket = found.get(holder)
    if bucket is None:
        found[holder] = [own]
    else:
        bucket.append(own)
    if through is not None:
        for member in members.get(holder[len(TEAM_PREFIX):], ()):
            bucket = found.get(member)
            if bucket is None:
                found[member] = [through]
            else:
                bucket.append(through)


def who_can(index: Index, policy: Policy, action: str, rtype: str, rid: str, node: Node) -> dict[str, list[Grant]]:
    """Every subject that Check allows to do `action` on (rtype, rid) at `node`, with every
    grant that allows it (unsorted). Empty for an unknown node, as Check denies there. The
    hottest part of a listing: one pass over the chain's bindings, dict lookups only."""
    chain = index.chains.get(node)
    if chain is None:
        return {}
    found: dict[str, list[Grant]] = {}
    members = index.members
    bindings = index.bindings
    # Rule 1: bindings on the node or an ancestor whose role grants (rtype, action).
    granting = policy.granting(rtype, action)
    if granting:
        wildcard: dict[str, bool] = {}
        for here in chain:
            for binding_id in index.bindings_by_node.get(here, ()):
                binding = bindings[binding_id]
                role = binding.role
                if role not in granting:
                    continue
                only = wildcard.get(role)
                if only is None:
                    only = wildcard[role] = _only_wildcards(policy, role, rtype, action)
                holder = binding.subject
                team = holder.startswith(TEAM_PREFIX)
                _add(found, members, holder, Grant(RULE_ROLE_BINDING, binding, None, "", only),
                     Grant(RULE_ROLE_BINDING, binding, None, holder, only) if team else None)
    if not rid:
        return found
    # Rule 2: shares of this resource on the node itself.
    for holder, share in index.shares.get((chain[0], rtype, rid), {}).items():
        if action in share.actions:
            team = holder.startswith(TEAM_PREFIX)
            _add(found, members, holder, Grant(RULE_RESOURCE_SHARE, None, share),
                 Grant(RULE_RESOURCE_SHARE, None, share, holder) if team else None)
    # Rule 3: reading a node m (a child of the node, or the organization itself) is allowed to
    # everyone holding a binding on m or below it, and to their teams' members.
    if action == "read":
        member = member_node(index, chain, rtype, rid)
        if member is not None:
            lowest: dict[str, str] = {}  # holder -> its smallest binding id on or below m
            for here in index.subtree(member):
                for binding_id in index.bindings_by_node.get(here, ()):
                    holder = bindings[binding_id].subject
                    known = lowest.get(holder)
                    if known is None or binding_id < known:
                        lowest[holder] = binding_id
            for holder, binding_id in lowest.items():
                binding = bindings[binding_id]
                team = holder.startswith(TEAM_PREFIX)
                _add(found, members, holder, Grant(RULE_MEMBERSHIP, binding, None, "", False, member),
                     Grant(RULE_MEMBERSHIP, binding, None, holder, False, member) if team else None)
    return found


def _grant_key(chain: tuple[Node, ...]):
    depth = {node: position for position, node in enumerate(chain)}

    def key(grant: Grant):
        if grant.rule == RULE_RESOURCE_SHARE:
            return (grant.rule, 0, grant.via_team, "", "")
        assert grant.binding is not None
        return (grant.rule, depth.get(grant.binding.node, len(chain)), grant.via_team, grant.binding.role,
                grant.binding.id)

    return key


def subjects_page(index: Index, policy: Policy, action: str, rtype: str, rid: str, node: Node, after: str,
                  limit: int) -> tuple[list[Allowed], bool]:
    """Up to `limit` allowed subjects in subject order, after the subject `after` (or from the
    first), each with its grants (the rule, then the nearest node first); and whether more
    follow."""
    found = who_can(index, policy, action, rtype, rid, node)
    subjects = sorted(subject for subject in found if subject > after) if after else sorted(found)
    page = subjects[:limit]
    key = _grant_key(index.chains.get(node) or ())
    result = []
    for subject in page:
        grants = found[subject]
        result.append(Allowed(subject, tuple(sorted(grants, key=key)) if len(grants) > 1 else tuple(grants)))
    return result, len(subjects) > limit


# ---- what a subject holds


def organization_nodes(index: Index, organization: str) -> list[Node]:
    """The organization's nodes in report order: the organization, then each workspace by id
    followed by its projects by id. Empty for an unknown organization."""
    top = index.chains.get(Node(ORGANIZATION, organization))
    if top is None:
        return []
    nodes = [top[0]]
    for workspace in sorted(index.children.get(top[0], ())):
        nodes.append(workspace)
        nodes.extend(sorted(index.children.get(workspace, ())))
    return nodes


def _row_key(row: AccessRow):
    grant = row.grant
    if grant.rule == RULE_RESOURCE_SHARE:
        assert grant.share is not None
        return (grant.rule, row.subject, grant.via_team, grant.share.resource_type, grant.share.resource_id)
    assert grant.binding is not None
    return (grant.rule, row.subject, grant.via_team, grant.binding.role, grant.binding.id)


def node_access(index: Index, node: Node) -> list[AccessRow]:
    """Every binding and share on exactly `node`, for its holder and, for a team's, for each
    member through it; sorted by kind (bindings, then shares), subject, team, role or resource."""
    rows: list[AccessRow] = []
    members = index.members

    def add(holder: str, own: Grant, through: Grant | None) -> None:
        rows.append(AccessRow(holder, node, own))
        if through is not None:
            rows.extend([AccessRow(member, node, through) for member in members.get(holder[len(TEAM_PREFIX):], ())])

    for binding_id in index.bindings_by_node.get(node, ()):
        binding = index.bindings[binding_id]
        holder = binding.subject
        add(holder, Grant(RULE_ROLE_BINDING, binding),
            Grant(RULE_ROLE_BINDING, binding, None, holder) if holder.startswith(TEAM_PREFIX) else None)
    for key in index.shares_by_node.get(node, ()):
        for holder, share in index.shares[key].items():
            add(holder, Grant(RULE_RESOURCE_SHARE, None, share),
                Grant(RULE_RESOURCE_SHARE, None, share, holder) if holder.startswith(TEAM_PREFIX) else None)
    rows.sort(key=_row_key)
    return rows


def organization_access_page(index: Index, organization: str, position: int, offset: int,
                             limit: int) -> tuple[list[AccessRow], tuple[int, int] | None]:
    """Up to `limit` rows of everyone's bindings and shares in `organization`, in node order
    (organization_nodes), starting at row `offset` of node number `position`; and where the
    next page starts, or None after the last row. Only the nodes the page reaches are read."""
    nodes = organization_nodes(index, organization)
    rows: list[AccessRow] = []
    while position < len(nodes):
        here = node_access(index, nodes[position])
        take = here[offset:offset + limit - len(rows)]
        rows += take
        offset += len(take)
        if offset >= len(here):
            position, offset = position + 1, 0
        if len(rows) == limit:
            break
    # Past the last node, or at the start of nodes holding nothing more: no next page.
    while position < len(nodes) and not offset and not (index.bindings_by_node.get(nodes[position])
                                                         or index.shares_by_node.get(nodes[position])):
        position += 1
    return rows, ((position, offset) if position < len(nodes) else None)


def _report_order(index: Index):
    """Sort key of a node: its organization, then organization, workspaces by id each before
    its projects by id (the order of organization_nodes)."""

    def key(node: Node):
        chain = index.chains[node]
        ids = [n.id for n in reversed(chain)]
        return tuple(ids) + ("",) * (3 - len(ids))

    return key


def subject_access(index: Index, subject: str, organization: str = "") -> list[AccessRow]:
    """Everything `subject` holds, directly or through its teams: its bindings, its shares, and
    every node it can see by membership (rule 3), within `organization` when given. Sorted by
    node (in organization_nodes' order), then kind (bindings, shares, memberships), team, role
    or resource."""
    rows: list[AccessRow] = []
    for holder in index.subjects(subject):
        via = holder if holder != subject else ""
        entry = index.by_subject.get(holder)
        if entry is None:
            continue
        lowest: dict[Node, BindingRow] = {}
        for binding_id in sorted(entry.bindings or ()):
            binding = index.bindings[binding_id]
            chain = index.chains[binding.node]
            rows.append(AccessRow(subject, chain[0], Grant(RULE_ROLE_BINDING, binding=binding, via_team=via)))
            for here in chain:
                lowest.setdefault(here, binding)
        for key in entry.shared or ():
            share = index.shares[key][holder]
            rows.append(AccessRow(subject, key[0], Grant(RULE_RESOURCE_SHARE, share=share, via_team=via)))
        for here, binding in lowest.items():
            rows.append(AccessRow(subject, here, Grant(RULE_MEMBERSHIP, binding=binding, via_team=via,
                                                       member_of=here)))
    if organization:
        rows = [row for row in rows if index.chains[row.node][-1].id == organization]
    order = _report_order(index)
    rows.sort(key=lambda row: (order(row.node), *_row_key(row)))
    return rows
