"""Explanations: what granted a decision, or that nothing did. Off the hot path: only checks
that ask for an explanation come here."""

from __future__ import annotations

from dataclasses import dataclass

from authz.domain.model import BindingRow, Node, ShareRow

from .decide import RULE_MEMBERSHIP, RULE_NONE, RULE_RESOURCE_SHARE, RULE_ROLE_BINDING, find_grant
from .index import Index
from .policy import Policy

__all__ = ["Decision", "explain", "RULE_MEMBERSHIP", "RULE_NONE", "RULE_RESOURCE_SHARE", "RULE_ROLE_BINDING"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: int
    text: str
    binding: BindingRow | None = None
    via_team: str = ""
    share: ShareRow | None = None


def _binding_below(index: Index, subject: str, member: Node) -> BindingRow:
    """A binding of `subject` on `member` or below it (explanations only)."""
    for binding_id in sorted(index.bindings_by_subject.get(subject, ())):
        binding = index.bindings[binding_id]
        if member in (index.chain(binding.node) or ()):
            return binding
    raise AssertionError(f"no binding of {subject} under {member}")


def explain(index: Index, policy: Policy, subject: str, action: str, rtype: str, rid: str, node: Node) -> Decision:
    asked = f"{subject} {action} {rtype}{'/' + rid if rid else ''} in {node}"
    chain = index.chain(node)
    if chain is None:
        return Decision(False, RULE_NONE, f"denied: {asked}: {node} does not exist")
    grant = find_grant(index, policy, subject, action, rtype, rid, chain)
    if grant is None:
        return Decision(False, RULE_NONE, f"denied: {asked}: no binding, share or membership grants it")
    rule, detail, who = grant
    via_team = who if who != subject else ""
    through = f" through {via_team}" if via_team else ""
    if rule == RULE_ROLE_BINDING:
        binding = index.bindings[detail]
        text = f"allowed: {asked}: role {binding.role} bound on {binding.node}{through} (binding {binding.id})"
        return Decision(True, rule, text, binding=binding, via_team=via_team)
    if rule == RULE_RESOURCE_SHARE:
        text = f"allowed: {asked}: shared with {who} for {', '.join(sorted(detail.actions))}"
        return Decision(True, rule, text, via_team=via_team, share=detail)
    binding = _binding_below(index, who, detail)
    text = (
        f"allowed: {asked}: a member of {detail}{through} "
        f"(role {binding.role} bound on {binding.node}, binding {binding.id})"
    )
    return Decision(True, rule, text, binding=binding, via_team=via_team)
