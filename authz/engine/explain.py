"""Explanations: what granted a decision and the policy line that matched, or, for a denial,
what came closest. Off the hot path: only checks that ask for an explanation come here."""

from __future__ import annotations

from dataclasses import dataclass

from authz.domain.model import WILDCARD, BindingRow, Node, ShareRow

from .decide import RULE_MEMBERSHIP, RULE_NONE, RULE_RESOURCE_SHARE, RULE_ROLE_BINDING, find_grant
from .expiry import shown
from .index import Index
from .policy import Policy, Source

__all__ = ["RULE_MEMBERSHIP", "RULE_NONE", "RULE_RESOURCE_SHARE", "RULE_ROLE_BINDING", "Decision", "explain"]

MAX_MISSES = 5


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: int
    text: str
    binding: BindingRow | None = None
    via_team: str = ""
    share: ShareRow | None = None
    policy_line: Source | None = None
    inherited_from: str = ""
    closest_misses: tuple[str, ...] = ()
    # When the membership of `via_team` expires (0.0: never, or no team).
    via_team_expires_at: float = 0.0


def _binding_below(index: Index, subject: str, member: Node) -> BindingRow:
    """A binding of `subject` on `member` or below it."""
    for binding_id in sorted(index.bindings_by_subject.get(subject, ())):
        binding = index.bindings[binding_id]
        if member in (index.chain(binding.node) or ()):
            return binding
    raise AssertionError(f"no binding of {subject} under {member}")


def _actions_on(policy: Policy, role: str, rtype: str) -> list[str]:
    return sorted({p.action for p in policy.effective_permissions(role) if p.resource_type in (WILDCARD, rtype)})


def closest_misses(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str,
                   chain: tuple[Node, ...]) -> list[str]:
    """What came closest to granting a denied request, nearest first."""
    misses: list[str] = []
    subjects = index.subjects(subject)
    for who in subjects:
        through = f" through {who}" if who != subject else ""
        for node in chain:
            for role in sorted(index.roles_of(who, node) or ()):
                actions = _actions_on(policy, role, rtype)
                allows = f"allows {', '.join(actions)} on {rtype}" if actions else f"allows nothing on {rtype}"
                misses.append(f"has {role} on {node}{through}; {allows}")
    if rid:
        for who, share in sorted(index.shares.get((chain[0], rtype, rid), {}).items()):
            if who in subjects:
                misses.append(f"{rtype}/{rid} is shared with {who} for {', '.join(sorted(share.actions))}, "
                              f"not {action}")
    organization = chain[-1]
    for who in subjects:
        through = f" through {who}" if who != subject else ""
        for binding_id in sorted(index.bindings_by_subject.get(who, ())):
            binding = index.bindings[binding_id]
            other = index.chain(binding.node) or ()
            if binding.node not in chain and other and other[-1] == organization:
                misses.append(f"has {binding.role} on {binding.node}{through}, which does not reach {chain[0]}")
    if not misses:
        known = subject in index.bindings_by_subject or subject in index.teams_of
        misses.append(f"{subject} holds nothing in {organization}" if known else f"{subject} holds nothing at all")
    return misses[:MAX_MISSES]


def explain(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, node: Node) -> Decision:
    asked = f"{subject} {action} {rtype}{'/' + rid if rid else ''} in {node}"
    chain = index.chain(node)
    if chain is None:
        return Decision(False, RULE_NONE, f"denied: {asked}: {node} does not exist")
    grant = find_grant(index, policy, subject, action, rtype, rid, chain)
    if grant is None:
        misses = tuple(closest_misses(index, policy, subject, action, rtype, rid, chain))
        text = f"denied: {asked}: no binding, share or membership grants it; closest: {misses[0]}"
        return Decision(False, RULE_NONE, text, closest_misses=misses)
    rule, detail, who = grant
    via_team = who if who != subject else ""
    team_expires = index.member_row(via_team[len("team:"):], subject).expires_at if via_team else 0.0
    through = f" through {via_team}{_until(team_expires)}" if via_team else ""
    if rule == RULE_ROLE_BINDING:
        binding = index.bindings[detail]
        holder, permission = policy.matching_permission(binding.role, rtype, action)  # type: ignore[misc]
        inherited = holder.name if holder.name != binding.role else ""
        via_base = f", inherited from {inherited}" if inherited else ""
        text = (f"allowed: {asked}: role {binding.role} bound on {binding.node}{through} (binding {binding.id}"
                f"{_until(binding.expires_at)}); matched {permission.source}{via_base}: {permission.source.text}")
        return Decision(True, rule, text, binding=binding, via_team=via_team, policy_line=permission.source,
                        inherited_from=inherited, via_team_expires_at=team_expires)
    if rule == RULE_RESOURCE_SHARE:
        text = f"allowed: {asked}: shared with {who} for {', '.join(sorted(detail.actions))}{_until(detail.expires_at)}"
        return Decision(True, rule, text, via_team=via_team, share=detail, via_team_expires_at=team_expires)
    binding = _binding_below(index, who, detail)
    text = (
        f"allowed: {asked}: a member of {detail}{through} "
        f"(role {binding.role} bound on {binding.node}, binding {binding.id}{_until(binding.expires_at)})"
    )
    return Decision(True, rule, text, binding=binding, via_team=via_team, via_team_expires_at=team_expires)


def _until(expires_at: float) -> str:
    return f", until {shown(expires_at)}" if expires_at else ""
