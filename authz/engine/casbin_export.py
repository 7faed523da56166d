"""Writing the stored state as a stock Casbin model and policy CSV.

How the hierarchy maps onto Casbin domains (see policies/model.conf):
- each node is the domain "<kind>:<id>"; `g2, <child>, <parent>` lines carry the hierarchy;
- a binding is `g, <subject>, <role>, <node>`; the request names the node, its workspace and
  its organization, and the matcher looks for the role in each of those domains, which is how
  a binding reaches everything below its node;
- Casbin's domain role manager keeps links per domain, so a team membership is written into
  every domain where the team holds a binding, a share or a membership, and a role's base role
  (`g, <role>, <base>, *` in the role files) into every domain where the role is bound;
- a share is `p, <subject>, <node>, <type>, <id>, <action>`, one line per action;
- rule 3 uses the pseudo-role "member": `g, <subject>, member, <m>` for every node m on or
  above one of the subject's bindings."""

from __future__ import annotations

import shutil
import time
from itertools import pairwise
from pathlib import Path

from authz.domain.model import ORGANIZATION, PROJECT, WORKSPACE, Node

from .expiry import shown
from .index import Index
from .policy import MEMBER_MARKER, MODEL_FILE, Policy

POLICY_FILE = "policy.csv"


def policy_lines(index: Index, policy: Policy) -> list[str]:
    lines: list[str] = []
    for role in policy.roles.values():
        lines.extend(
            f"p, {role.name}, {role.level}, {perm.resource_type}, *, {perm.action}" for perm in role.permissions
        )
    lines.append(f"p, {MEMBER_MARKER}, *, *, *, read")
    for by_subject in index.shares.values():
        for share in by_subject.values():
            lines.extend(
                f"p, {share.subject}, {share.node}, {share.resource_type}, {share.resource_id}, {action}"
                for action in sorted(share.actions)
            )
    domains_of: dict[str, set[Node]] = {}
    members: set[tuple[str, Node]] = set()
    extends: set[tuple[str, str, Node]] = set()
    for binding in index.bindings.values():
        lines.append(f"g, {binding.subject}, {binding.role}, {binding.node}")
        lineage = policy.lineage(binding.role)
        extends.update((role.name, base.name, binding.node) for role, base in pairwise(lineage))
        for node in index.chain(binding.node) or ():
            members.add((binding.subject, node))
            domains_of.setdefault(binding.subject, set()).add(node)
    lines.extend(f"g, {subject}, {MEMBER_MARKER}, {node}" for subject, node in sorted(members))
    lines.extend(f"g, {role}, {base}, {node}" for role, base, node in sorted(extends))
    for (node, _type, _id), by_subject in index.shares.items():
        for subject in by_subject:
            domains_of.setdefault(subject, set()).add(node)
    for team_id, team_members in index.members.items():
        for node in sorted(domains_of.get(f"team:{team_id}", ())):
            lines.extend(f"g, {member}, team:{team_id}, {node}" for member in sorted(team_members))
    for node, parent in index.parent.items():
        if parent is not None:
            lines.append(f"g2, {node}, {parent}")
    return lines


def header(now: float) -> str:
    """The first line of policy.csv (a comment to Casbin): what the export leaves out."""
    return (f"# authz export at {shown(now)}: grants expired by then are left out; grants that expire "
            "later are written without their expiry (Casbin has none), so re-export before they do")


def export(index: Index, policy: Policy, directory: str | Path, now: float | None = None) -> tuple[Path, Path]:
    """Write model.conf and policy.csv into `directory`, without the grants expired at `now`
    (the time of export when not given; they are taken out of `index`); return their paths."""
    now = time.time() if now is None else now
    if now >= index.expiries.next_at:
        index.expire(now)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / MODEL_FILE
    shutil.copyfile(policy.file(MODEL_FILE), model)
    csv = directory / POLICY_FILE
    csv.write_text("\n".join([header(now), *policy_lines(index, policy)]) + "\n")
    return model, csv


def request_for(index: Index, subject: str, action: str, rtype: str, rid: str, node: Node) -> tuple[str, ...]:
    """The Casbin request (sub, dom, ws, org, type, id, act) for a check at a known or unknown node."""
    chain = index.chain(node) or (node,)
    by_kind = {n.kind: str(n) for n in chain}
    workspace = by_kind.get(WORKSPACE, "") if node.kind in (WORKSPACE, PROJECT) else ""
    return (subject, str(node), workspace, by_kind.get(ORGANIZATION, ""), rtype, rid, action)
