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
    """A large world described by counts, generated once from its seed.

    `operations()` yields it in an order that imports cleanly; the world also keeps what it
    generated (bindings, memberships, shares), so that benchmarks can ask questions whose
    answers they know the shape of: grants through teams, through inheritance, through shares.
    One extra user, `lister`, holds `list_shares` shares of `pipeline` ids in project p0 (the
    ListAllowedResources case)."""

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
    list_shares: int = 10_000
    # Filled by generate(): (subject, role, level, node id); team id -> member subjects;
    # (subject, resource type, resource id, project id, actions).
    binding_list: list[tuple[str, str, str, str]] = field(default_factory=list)
    team_members: dict[str, list[str]] = field(default_factory=dict)
    share_list: list[tuple[str, str, str, str, tuple[str, ...]]] = field(default_factory=list)

    LISTER = "user:lister"
    LISTED_TYPE = "pipeline"

    @classmethod
    def of_size(cls, seed: int, bindings: int, roles_by_level, type_levels, list_shares: int = 10_000) -> ScaledWorld:
        """Proportions of the benchmark's `large` world (1,000,000 bindings over 10,000 projects,
        20,000 teams, 200,000 users and 100,000 shares), scaled to `bindings`."""
        projects = max(10, bindings // 100)
        workspaces = max(2, projects // 10)
        world = cls(seed, bindings, projects, max(4, bindings // 50), max(20, bindings // 5),
                    max(10, bindings // 10), max(1, workspaces // 10), workspaces, roles_by_level, type_levels,
                    list_shares)
        world.generate()
        return world

    def project(self, i: int) -> str:
        return f"p{i}"

    def workspace_of_project(self, i: int) -> int:
        return i % self.workspaces

    def organization_of_workspace(self, w: int) -> int:
        return w % self.organizations

    def organization_of_project(self, i: int) -> int:
        return self.organization_of_workspace(self.workspace_of_project(i))

    def teams_of_organization(self, o: int) -> range:
        return range(o, self.teams, self.organizations)

    def user(self, o: int, k: int) -> str:
        """The k-th user of organization o."""
        return f"user:u{k * self.organizations + o}"

    def projects_under(self, level: str, ident: str) -> range | list[int]:
        """Project numbers on or below a node."""
        number = int(ident[1:])
        if level == PROJECT:
            return [number]
        if level == WORKSPACE:
            return range(number, self.projects, self.workspaces)
        return [p for w in range(number, self.workspaces, self.organizations)
                for p in range(w, self.projects, self.workspaces)]

    def generate(self) -> None:
        rng = random.Random(self.seed)
        per_org = self.users // self.organizations
        for t in range(self.teams):
            o = t % self.organizations
            self.team_members[f"t{t}"] = [self.user(o, k) for k in rng.sample(range(per_org), k=min(10, per_org))]
        seen: set[tuple] = set()
        levels = (PROJECT, WORKSPACE, ORGANIZATION)
        while len(self.binding_list) < self.bindings:
            p = rng.randrange(self.projects)
            w = self.workspace_of_project(p)
            o = self.organization_of_workspace(w)
            level = rng.choices(levels, (0.75, 0.2, 0.05))[0]
            ident = self.project(p) if level == PROJECT else f"w{w}" if level == WORKSPACE else f"o{o}"
            if rng.random() < 0.3:
                teams = self.teams_of_organization(o)
                subject = f"team:t{teams[rng.randrange(len(teams))]}"
            else:
                subject = self.user(o, rng.randrange(per_org))
            role = rng.choice(self.roles_by_level[level])
            key = (subject, role, ident)
            if key in seen:
                continue
            seen.add(key)
            self.binding_list.append((subject, role, level, ident))
        project_types = [t for t, level in self.type_levels.items() if level == PROJECT]
        for s in range(self.shares):
            p = rng.randrange(self.projects)
            subject = self.user(self.organization_of_project(p), rng.randrange(per_org))
            actions = tuple(rng.sample(ACTIONS[:4], k=rng.randint(1, 2)))
            self.share_list.append((subject, rng.choice(project_types), f"r{s}", self.project(p), actions))
        for i in range(self.list_shares):
            self.share_list.append((self.LISTER, self.LISTED_TYPE, f"l{i}", self.project(0), ("read",)))

    def operations(self):
        """Every operation of the world, in an order that imports cleanly."""
        for o in range(self.organizations):
            yield ops.CreateOrganization(f"o{o}")
        for w in range(self.workspaces):
            yield ops.CreateWorkspace(f"w{w}", f"o{self.organization_of_workspace(w)}")
        for p in range(self.projects):
            yield ops.CreateProject(self.project(p), f"w{self.workspace_of_project(p)}")
        for t in range(self.teams):
            yield ops.CreateTeam(f"t{t}", f"o{t % self.organizations}")
        for team, members in self.team_members.items():
            for member in members:
                yield ops.AddTeamMember(team, member)
        scopes = {PROJECT: lambda i: Scope(project_id=i), WORKSPACE: lambda i: Scope(workspace_id=i),
                  ORGANIZATION: lambda i: Scope(organization_id=i)}
        for subject, role, level, ident in self.binding_list:
            yield ops.CreateRoleBinding(subject, role, scopes[level](ident))
        for subject, rtype, rid, project, actions in self.share_list:
            yield ops.SetResourceMembership(subject, Resource(rtype, rid), Scope(project_id=project), actions)

    def chunks(self, size: int = 10_000):
        chunk: list[ops.Operation] = []
        for operation in self.operations():
            chunk.append(operation)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
