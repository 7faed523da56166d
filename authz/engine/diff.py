"""What-if: which effective decisions would flip under a candidate policy, or a candidate set of
binding changes, over the real stored bindings and shares.

A flip is (subject, resource type, [id,] action, node), listed once, at the highest node where
that decision flips: the node of the binding that causes it. It flips at the nodes below too,
except where another binding of the subject (or of one of its teams) lower down still grants
it (a loss) or already granted it (a gain); a node below is never listed for a flip its parent
has. Below a node where the subject holds no binding, its decisions equal those at the
nearest node above where it does, so binding nodes are the only places to evaluate. Other
grants still count: a permission lost from one role but granted by another binding on the
same chain is no flip.

Types and actions the policies do not list are covered by "*", which stands for any other
type or action (only a "*" permission grants those)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from authz.domain import operations as ops
from authz.domain.model import (
    LEVELS,
    ORGANIZATION,
    TEAM,
    WILDCARD,
    BindingRow,
    Change,
    MemberRow,
    Node,
    ShareRow,
    inverse,
)

from . import decide
from .index import Index
from .plan import Planner
from .policy import Policy

# Stands for a type or action no policy names: only "*" permissions match it.
_OTHER = "\x00other"

Point = tuple[str, Node]  # (subject, node) where the subject's effective grants are evaluated


@dataclass(frozen=True, order=True)
class Flip:
    subject: str
    resource_type: str
    action: str
    node: Node
    resource_id: str = ""


@dataclass
class Diff:
    gained: list[Flip] = field(default_factory=list)
    lost: list[Flip] = field(default_factory=list)
    # (role, bindings using it, what the candidate does to it)
    roles_in_use: list[tuple[str, int, str]] = field(default_factory=list)

    def sort(self) -> Diff:
        self.gained.sort()
        self.lost.sort()
        return self

    def as_dict(self, max_examples: int) -> dict:
        def show(flips: list[Flip]) -> list[dict]:
            return [{"subject": f.subject, "resource_type": f.resource_type, "resource_id": f.resource_id,
                     "action": f.action, "node": str(f.node)} for f in flips[:max_examples]]

        return {
            "gained_count": len(self.gained), "lost_count": len(self.lost),
            "gained": show(self.gained), "lost": show(self.lost),
            "roles_in_use": [{"role": r, "binding_count": n, "change": c} for r, n, c in self.roles_in_use],
        }


class _Grid:
    """The (type, action) pairs worth comparing, each role's grants over them, and the flips
    between two role sets, all memoised: worlds repeat the same few role combinations."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        types = sorted({t for p in policies for t in p.type_levels}) + [WILDCARD]
        actions = sorted({a for p in policies for a in p.actions}) + [WILDCARD]
        self.pairs = [(t, a) for t in types for a in actions]
        self._roles: dict[tuple[int, str], frozenset[tuple[str, str]]] = {}
        self._sets: dict[tuple[int, frozenset[str]], frozenset[tuple[str, str]]] = {}
        self._flips: dict[tuple, tuple[frozenset, frozenset]] = {}

    def _role(self, policy: Policy, role: str) -> frozenset[tuple[str, str]]:
        key = (id(policy), role)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = frozenset(
                (t, a) for t, a in self.pairs
                if policy.allows(role, _OTHER if t == WILDCARD else t, _OTHER if a == WILDCARD else a)
            )
        return found

    def grants(self, policy: Policy, roles: frozenset[str]) -> frozenset[tuple[str, str]]:
        key = (id(policy), roles)
        found = self._sets.get(key)
        if found is None:
            found = self._sets[key] = frozenset().union(*(self._role(policy, role) for role in roles))
        return found

    def flips(self, before: Policy, old: frozenset[str], after: Policy, new: frozenset[str]):
        """(gained, lost) pairs going from roles `old` under `before` to `new` under `after`."""
        key = (id(before), old, id(after), new)
        found = self._flips.get(key)
        if found is None:
            was, now = self.grants(before, old), self.grants(after, new)
            found = self._flips[key] = (now - was, was - now)
        return found


def _roles_on_chain(index: Index, subject: str, node: Node) -> frozenset[str]:
    roles: set[str] = set()
    for who in index.subjects(subject):
        for each in index.chain(node) or ():
            roles.update(index.roles_of(who, each) or ())
    return frozenset(roles)


def binding_points(index: Index, bindings: Iterable[BindingRow]) -> set[Point]:
    """Each binding's (subject, node), and for a team binding each member's."""
    points: set[Point] = set()
    for binding in bindings:
        points.add((binding.subject, binding.node))
        if binding.subject.startswith(TEAM + ":"):
            team = binding.subject.partition(":")[2]
            points.update((member, binding.node) for member in index.members.get(team, ()))
    return points


def _role_flips(index: Index, points: Iterable[Point], grid: _Grid, before: dict[Point, frozenset[str]],
                after: dict[Point, frozenset[str]], policy_before: Policy, policy_after: Policy, diff: Diff) -> None:
    """The flips at each point that its parent node does not have already (`before` and
    `after` hold the roles on each point's chain, and on its parent's chain under the key
    (subject, parent))."""
    empty: frozenset[str] = frozenset()
    for point in points:
        gained, lost = grid.flips(policy_before, before.get(point, empty), policy_after, after.get(point, empty))
        if not (gained or lost):
            continue
        subject, node = point
        parent = index.parent.get(node)
        if parent is not None:
            above = (subject, parent)
            gained_above, lost_above = grid.flips(policy_before, before[above], policy_after, after[above])
            gained, lost = gained - gained_above, lost - lost_above
        diff.gained.extend(Flip(subject, t, a, node) for t, a in gained)
        diff.lost.extend(Flip(subject, t, a, node) for t, a in lost)


def _with_parents(index: Index, points: set[Point]) -> set[Point]:
    """The points and, for each, the same subject at the parent node."""
    parents = {(subject, parent) for subject, node in points if (parent := index.parent.get(node)) is not None}
    return points | parents


@dataclass(frozen=True)
class StaleRole:
    """A role that stored bindings use and a candidate policy drops (`new_level` None) or
    re-levels: a reload refuses it unless forced, a diff and a shadow warn of it."""

    role: str
    binding_ids: frozenset[str]
    level: str
    new_level: str | None

    @property
    def change(self) -> str:
        """What the candidate did to it: "dropped", or "re-levelled from X to Y"."""
        return "dropped" if self.new_level is None else f"re-levelled from {self.level} to {self.new_level}"

    @property
    def verb(self) -> str:
        """The same as a verb: "drops", or "re-levels from X to Y"."""
        return "drops" if self.new_level is None else f"re-levels from {self.level} to {self.new_level}"


def stale_roles(index: Index, active: Policy, candidate: Policy) -> list[StaleRole]:
    """The roles stored bindings use that `candidate` drops or re-levels, by name."""
    stale = []
    for role, ids in sorted(index.bindings_by_role.items()):
        new = candidate.roles.get(role)
        old = active.roles.get(role)
        if new is None:
            stale.append(StaleRole(role, frozenset(ids), old.level if old is not None else "", None))
        elif old is not None and new.level != old.level:
            stale.append(StaleRole(role, frozenset(ids), old.level, new.level))
    return stale


def diff_policy(index: Index, active: Policy, candidate: Policy) -> Diff:
    """Flips if `candidate` replaced `active`, over every stored binding."""
    diff = Diff()
    diff.roles_in_use = [(s.role, len(s.binding_ids), s.change) for s in stale_roles(index, active, candidate)]
    grid = _Grid((active, candidate))
    points = binding_points(index, index.bindings.values())
    roles = {point: _roles_on_chain(index, *point) for point in _with_parents(index, points)}
    _role_flips(index, points, grid, roles, roles, active, candidate, diff)
    return diff.sort()


def _affected_points(index: Index, changes: Sequence[Change]) -> set[Point]:
    """Points whose rule-1 grants the changes may alter (evaluated on the index as it is)."""
    points: set[Point] = set()
    for change in changes:
        row = change.row
        if isinstance(row, BindingRow):
            points |= binding_points(index, [row])
            for subject, _ in list(points):
                for binding_id in index.bindings_by_subject.get(subject, ()):
                    below = index.bindings[binding_id].node
                    if row.node in (index.chain(below) or ()):
                        points.add((subject, below))
        elif isinstance(row, MemberRow):
            for binding_id in index.bindings_by_subject.get(f"{TEAM}:{row.team_id}", ()):
                points.add((row.subject, index.bindings[binding_id].node))
    return points


def _share_and_member_checks(index: Index, changes: Sequence[Change]) -> set[tuple[str, str, str, str, Node]]:
    """Single decisions (subject, action, type, id, node) that rules 2 and 3 may flip."""
    checks: set[tuple[str, str, str, str, Node]] = set()
    for change in changes:
        row = change.row
        if isinstance(row, ShareRow):
            subjects = [row.subject]
            if row.subject.startswith(TEAM + ":"):
                subjects += index.members.get(row.subject.partition(":")[2], ())
            for subject in subjects:
                checks.update((subject, action, row.resource_type, row.resource_id, row.node)
                              for action in row.actions)
        elif isinstance(row, BindingRow):
            checks |= _membership_reads(index, [row.subject], row.node)
        elif isinstance(row, MemberRow):
            for binding_id in index.bindings_by_subject.get(f"{TEAM}:{row.team_id}", ()):
                checks |= _membership_reads(index, [row.subject], index.bindings[binding_id].node)
    return checks


def _membership_reads(index: Index, subjects: Iterable[str], node: Node) -> set[tuple[str, str, str, str, Node]]:
    """Rule 3's reads that a binding on `node` makes possible: each node on its chain, asked
    at its parent (an organization at itself)."""
    checks: set[tuple[str, str, str, str, Node]] = set()
    for each in index.chain(node) or ():
        asked_at = each if each.kind == ORGANIZATION else index.parent.get(each)
        if asked_at is not None and each.kind in LEVELS:
            checks.update((subject, "read", each.kind, each.id, asked_at) for subject in subjects)
    return checks


def _decide(index: Index, policy: Policy, check: tuple[str, str, str, str, Node]) -> bool:
    subject, action, rtype, rid, node = check
    return decide.check(index, policy, subject, action, rtype, rid, node)


def _applied(index: Index, changes: Sequence[Change], work):
    """Run `work()` with `changes` applied to the index, then undo them."""
    applied: list[Change] = []
    try:
        for change in changes:
            index.apply(change)
            applied.append(change)
        return work()
    finally:
        for change in reversed(applied):
            index.apply(inverse(change))


def diff_operations(index: Index, policy: Policy, operations: Sequence[ops.Operation]) -> Diff:
    """Flips if `operations` were applied (they are planned and validated, then undone)."""
    changes, _ = Planner(index, policy).plan_all(operations, 0, field_prefix="operations")
    grid = _Grid((policy,))
    points = _affected_points(index, changes) | _applied(index, changes, lambda: _affected_points(index, changes))
    checks = _share_and_member_checks(index, changes) | _applied(
        index, changes, lambda: _share_and_member_checks(index, changes))
    # Parents as they are and as the operations leave them (they may create or delete nodes).
    evaluated = _with_parents(index, points) | _applied(index, changes, lambda: _with_parents(index, points))
    before_roles = {point: _roles_on_chain(index, *point) for point in evaluated}
    before_checks = {check: _decide(index, policy, check) for check in checks}
    diff = Diff()

    def after() -> None:
        after_roles = {point: _roles_on_chain(index, *point) for point in evaluated}
        _role_flips(index, points, grid, before_roles, after_roles, policy, policy, diff)
        for check in checks:
            now = _decide(index, policy, check)
            if before_checks[check] != now:
                subject, action, rtype, rid, node = check
                (diff.gained if now else diff.lost).append(Flip(subject, rtype, action, node, rid))

    _applied(index, changes, after)
    # A type-wide flip already says it; drop the per-id flips it covers.
    for flips in (diff.gained, diff.lost):
        wide = {(f.subject, f.resource_type, f.action, f.node) for f in flips if not f.resource_id}
        flips[:] = [f for f in flips if not f.resource_id or (f.subject, f.resource_type, f.action, f.node) not in wide]
    return diff.sort()
