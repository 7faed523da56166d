"""An engine with no server and no database: plan each write, apply it, ask questions."""

from __future__ import annotations

import random
from pathlib import Path

from authz.domain import operations as ops
from authz.domain.model import Node, Resource, Scope
from authz.engine import decide, explain
from authz.engine.index import Index
from authz.engine.plan import Planner
from authz.engine.policy import Policy
from authz.engine.policy_files import load_policy
from authz.engine.scope import resolve
from authz.testing.synthetic import scope_of_node

POLICIES = Path(__file__).resolve().parents[2] / "policies"
_POLICY = load_policy(POLICIES)


def bundled_policy() -> Policy:
    return _POLICY


def where(project_id: str = "", workspace_id: str = "", organization_id: str = "") -> Scope:
    return Scope(organization_id, workspace_id, project_id)


class Engine:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or _POLICY
        self.index = Index()
        self.planner = Planner(self.index, self.policy)
        self.revision = 0

    def write(self, *operations: ops.Operation) -> list[ops.Operation]:
        self.revision += 1
        changes, recorded = self.planner.plan_all(list(operations), self.revision)
        for change in changes:
            self.index.apply(change)
        return recorded

    def bind(self, subject: str, role: str, **scope: str) -> str:
        recorded = self.write(ops.CreateRoleBinding(subject, role, where(**scope)))
        return recorded[0].id  # type: ignore[union-attr]

    def share(self, subject: str, resource: str, actions: tuple[str, ...], actor: str = "", **scope: str) -> None:
        self.write(ops.SetResourceMembership(subject, Resource.parse(resource), where(**scope), actions, actor))

    def node(self, **scope: str) -> Node:
        return resolve(self.index, where(**scope))[0]

    def check(self, subject: str, action: str, resource: str, **scope: str) -> bool:
        asked = Resource.parse(resource)
        node = self.node(**scope)
        allowed = decide.check(self.index, self.policy, subject, action, asked.type, asked.id, node)
        explained = explain.explain(self.index, self.policy, subject, action, asked.type, asked.id, node)
        assert explained.allowed == allowed, explained.text
        return allowed

    def explain(self, subject: str, action: str, resource: str, **scope: str) -> explain.Decision:
        asked = Resource.parse(resource)
        return explain.explain(self.index, self.policy, subject, action, asked.type, asked.id, self.node(**scope))

    def list_allowed(self, subject: str, action: str, rtype: str, **scope: str) -> tuple[bool, list[str]]:
        return decide.list_allowed(self.index, self.policy, subject, action, rtype, self.node(**scope))


def tree(engine: Engine) -> Engine:
    """Two organizations; o1 holds workspaces w1 (projects p1, p2) and w2 (project p3); o2 holds
    w3 (project p4). Teams t1, t2 in o1 and t3 in o2."""
    engine.write(
        ops.CreateOrganization("o1"), ops.CreateOrganization("o2"),
        ops.CreateWorkspace("w1", "o1"), ops.CreateWorkspace("w2", "o1"), ops.CreateWorkspace("w3", "o2"),
        ops.CreateProject("p1", "w1"), ops.CreateProject("p2", "w1"), ops.CreateProject("p3", "w2"),
        ops.CreateProject("p4", "w3"),
        ops.CreateTeam("t1", "o1"), ops.CreateTeam("t2", "o1"), ops.CreateTeam("t3", "o2"),
    )
    return engine


def random_delete(rng: random.Random, engine: Engine, people: list[str]) -> ops.Operation:
    """A random delete of something the engine holds (or of a subject from `people`)."""
    index = engine.index
    choice = rng.randrange(6)
    if choice == 0 and index.bindings:
        return ops.DeleteRoleBinding(rng.choice(sorted(index.bindings)))
    if choice == 1 and index.members:
        team = rng.choice(sorted(index.members))
        return ops.RemoveTeamMember(team, rng.choice(sorted(index.members[team])))
    if choice == 2:
        return ops.DeleteSubject(rng.choice(people))
    if choice == 3 and index.teams:
        return ops.DeleteTeam(rng.choice(sorted(index.teams)))
    if choice == 4 and index.shares:
        node, rtype, rid = rng.choice(sorted(index.shares))
        return ops.DeleteResources((ops.ResourceRef(Resource(rtype, rid), scope_of_node(node)),))
    projects = sorted(n for n in index.parent if n.kind == "project")
    return ops.DeleteProject(rng.choice(projects).id) if projects else ops.DeleteSubject("user:nobody")
