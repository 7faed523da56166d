"""Small worlds that several end-to-end modules load into a real server."""

from __future__ import annotations


def load_recs(client) -> None:
    """acme / staging / recs; team `ds` holding user:ada; `flipper` (a role the policy tests
    change) bound to user:f, and project_viewer to the team, on recs."""
    client.create_organization("acme")
    client.create_workspace("staging", "acme")
    client.create_project("recs", "staging")
    client.create_team("ds", "acme")
    client.add_team_member("ds", "user:ada")
    client.create_role_binding("user:f", "flipper", project="recs")
    client.create_role_binding("team:ds", "project_viewer", project="recs")


def parents(operations) -> dict:
    """Each workspace's organization and each project's workspace, from the operations that made
    them (the test's own record of the hierarchy, not the server's)."""
    from authz.domain import operations as ops
    from authz.domain.model import Node

    found = {}
    for op in operations:
        if isinstance(op, ops.CreateWorkspace):
            found[Node("workspace", op.id)] = Node("organization", op.organization_id)
        elif isinstance(op, ops.CreateProject):
            found[Node("project", op.id)] = Node("workspace", op.workspace_id)
    return found


def casbin_request(parent: dict, subject: str, action: str, rtype: str, rid: str, node) -> tuple[str, ...]:
    """The stock-Casbin request of a check at `node`, its domains from `parent` (see parents)."""
    chain = [node]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    by_kind = {n.kind: str(n) for n in chain}
    workspace = by_kind.get("workspace", "") if node.kind != "organization" else ""
    return (subject, str(node), workspace, by_kind.get("organization", ""), rtype, rid, action)
