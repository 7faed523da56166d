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
