"""Random worlds and random checks, from a seed: for tests against stock Casbin and for benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from authz.domain import operations as ops
from authz.domain.model import ORGANIZATION, PROJECT, WORKSPACE, Node, Resource, Scope

ACTIONS = ("create", "read", "update", "delete", "share", "read_secret_value", "prune", "promote")


def scope_of_node(node: Node) -> Scope:
    """The Scope naming only the node itself (the server resolves the rest)."""
    if node.kind == ORGANIZATION:
        return Scope(organization_id=node.id)
    if node.kind == WORKSPACE:
        return Scope(workspace_id=node.id)
    return Scope(project_id=node.id)


@dataclass
class World:
    operations: list[ops.Operation] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    resource_ids: list[str] = field(default_factory=list)


def random_world(
    seed: int,
    roles_by_level: dict[str, list[str]],
    type_levels: dict[str, str],
    organizations: int = 2,
    workspaces: int = 2,
    projects: int = 3,
    teams: int = 2,
    people: int = 16,
    bindings: int = 120,
    shares: int = 80,
) -> World:
    rng = random.Random(seed)
    world = World()
    org_of: dict[Node, str] = {}
    add = world.operations.append
    for o in range(organizations):
        org = f"org{o}"
        add(ops.CreateOrganization(org, f"Organization {o}"))
        world.nodes.append(Node(ORGANIZATION, org))
        org_of[world.nodes[-1]] = org
        for t in range(teams):
            team = f"team{o}-{t}"
            add(ops.CreateTeam(team, org))
            world.teams.append(team)
        for w in range(workspaces):
            ws = f"ws{o}-{w}"
            add(ops.CreateWorkspace(ws, org))
            world.nodes.append(Node(WORKSPACE, ws))
            org_of[world.nodes[-1]] = org
            for p in range(projects):
                project = f"prj{o}-{w}-{p}"
                add(ops.CreateProject(project, ws))
                world.nodes.append(Node(PROJECT, project))
                org_of[world.nodes[-1]] = org
    world.people = [f"user:u{i}" for i in range(people)] + ["service_account:sa0", "service_account:sa1"]
    for team in world.teams:
        for person in rng.sample(world.people, k=min(len(world.people), rng.randint(1, 6))):
            add(ops.AddTeamMember(team, person))
    world.resource_ids = [f"r{i}" for i in range(12)]
    seen: set[tuple] = set()
    for _ in range(bindings):
        node = rng.choice(world.nodes)
        subject = _subject(rng, world, org_of[node])
        role = rng.choice(roles_by_level[node.kind])
        if (subject, role, node) not in seen:
            seen.add((subject, role, node))
            add(ops.CreateRoleBinding(subject, role, scope_of_node(node)))
    types_at = {level: [t for t, lv in type_levels.items() if lv == level] + ["custom_thing"] for level in (
        ORGANIZATION, WORKSPACE, PROJECT)}
    for _ in range(shares):
        node = rng.choice(world.nodes)
        resource = Resource(rng.choice(types_at[node.kind]), rng.choice(world.resource_ids))
        actions = tuple(rng.sample(ACTIONS, k=rng.randint(1, 3)))
        add(ops.SetResourceMembership(_subject(rng, world, org_of[node]), resource, scope_of_node(node), actions))
    return world


def _subject(rng: random.Random, world: World, organization: str) -> str:
    if rng.random() < 0.3:
        own = [t for t in world.teams if t.startswith(f"team{organization[3:]}-")]
        return f"team:{rng.choice(own)}"
    return rng.choice(world.people)


def random_checks(seed: int, world: World, type_levels: dict[str, str], count: int):
    """(subject, action, resource type, resource id, node) tuples, with unknowns mixed in."""
    rng = random.Random(seed)
    types = list(type_levels) + ["custom_thing", "unknown_type"]
    subjects = world.people + [f"team:{t}" for t in world.teams] + ["user:stranger"]
    nodes = world.nodes + [Node(PROJECT, "no-such-project")]
    for _ in range(count):
        node = rng.choice(nodes)
        roll = rng.random()
        if roll < 0.25:
            node_target = rng.choice(world.nodes)
            rtype, rid = node_target.kind, node_target.id
        else:
            rtype = rng.choice(types)
            rid = rng.choice(world.resource_ids + [""])
        action = rng.choice(ACTIONS + ("unknown_action",))
        yield rng.choice(subjects), action, rtype, rid, node


@dataclass
class ScaledWorld:
    """A large world described by counts, streamed as operations in import-sized chunks."""

    seed: int
    bindings: int
    projects: int
    teams: int
    users: int
    shares: int
    organizations: int
    workspaces: int
    roles_by_level: dict[str, list[str]]
    type_levels: dict[str, str]

    @classmethod
    def of_size(cls, seed: int, bindings: int, roles_by_level, type_levels) -> ScaledWorld:
        """Proportions of the benchmark's `large` world (1,000,000 bindings over 10,000 projects,
        20,000 teams, 200,000 users and 100,000 shares), scaled to `bindings`."""
        projects = max(10, bindings // 100)
        workspaces = max(2, projects // 10)
        return cls(seed, bindings, projects, max(4, bindings // 50), max(20, bindings // 5),
                   max(10, bindings // 10), max(1, workspaces // 10), workspaces, roles_by_level, type_levels)

    def project(self, i: int) -> str:
        return f"p{i}"

    def workspace_of_project(self, i: int) -> int:
        return i % self.workspaces

    def organization_of_workspace(self, w: int) -> int:
        return w % self.organizations

    def teams_of_organization(self, o: int) -> list[int]:
        return list(range(o, self.teams, self.organizations))

    def operations(self):
        """Every operation of the world, in an order that imports cleanly."""
        rng = random.Random(self.seed)
        for o in range(self.organizations):
            yield ops.CreateOrganization(f"o{o}")
        for w in range(self.workspaces):
            yield ops.CreateWorkspace(f"w{w}", f"o{self.organization_of_workspace(w)}")
        for p in range(self.projects):
            yield ops.CreateProject(self.project(p), f"w{self.workspace_of_project(p)}")
        for t in range(self.teams):
            yield ops.CreateTeam(f"t{t}", f"o{t % self.organizations}")
        # Each team gets about 10 members, from users of its organization.
        for t in range(self.teams):
            o = t % self.organizations
            for u in rng.sample(range(self.users // self.organizations), k=min(10, self.users // self.organizations)):
                yield ops.AddTeamMember(f"t{t}", f"user:u{u * self.organizations + o}")
        seen: set[tuple] = set()
        made = 0
        while made < self.bindings:
            p = rng.randrange(self.projects)
            w = self.workspace_of_project(p)
            o = self.organization_of_workspace(w)
            level = rng.choices((PROJECT, WORKSPACE, ORGANIZATION), (0.75, 0.2, 0.05))[0]
            node = {PROJECT: Scope(project_id=self.project(p)), WORKSPACE: Scope(workspace_id=f"w{w}"),
                    ORGANIZATION: Scope(organization_id=f"o{o}")}[level]
            if rng.random() < 0.3:
                subject = f"team:t{rng.choice(self.teams_of_organization(o))}"
            else:
                subject = f"user:u{rng.randrange(self.users // self.organizations) * self.organizations + o}"
            role = rng.choice(self.roles_by_level[level])
            key = (subject, role, level, node)
            if key in seen:
                continue
            seen.add(key)
            made += 1
            yield ops.CreateRoleBinding(subject, role, node)
        project_types = [t for t, level in self.type_levels.items() if level == PROJECT]
        for s in range(self.shares):
            p = rng.randrange(self.projects)
            o = self.organization_of_workspace(self.workspace_of_project(p))
            subject = f"user:u{rng.randrange(self.users // self.organizations) * self.organizations + o}"
            yield ops.SetResourceMembership(
                subject, Resource(rng.choice(project_types), f"r{s}"), Scope(project_id=self.project(p)),
                tuple(rng.sample(ACTIONS[:4], k=rng.randint(1, 2))),
            )

    def chunks(self, size: int = 10_000):
        chunk: list[ops.Operation] = []
        for operation in self.operations():
            chunk.append(operation)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
