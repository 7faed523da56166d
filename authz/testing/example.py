"""The README's example organization: `authz load-example`."""

from __future__ import annotations

from authz.domain import operations as ops
from authz.domain.model import Resource, Scope

ORG = "acme"
PROJECTS = {
    "staging": ("staging-recommendations", "staging-llms", "staging-fraud-detection"),
    "production": ("prod-recommendations", "prod-llms", "prod-fraud-detection"),
}
TEAMS = {
    "data-science": ("user:ada", "user:grace"),
    "ml-engineering": ("user:linus", "user:margaret", "service_account:ci-bot"),
    "contractors": ("user:eve",),
}


def _binding(subject: str, role: str, **scope: str) -> ops.CreateRoleBinding:
    return ops.CreateRoleBinding(subject, role, Scope(**scope))


def operations() -> list[ops.Operation]:
    result: list[ops.Operation] = [ops.CreateOrganization(ORG, "Acme Corp")]
    for workspace, projects in PROJECTS.items():
        result.append(ops.CreateWorkspace(workspace, ORG, workspace.title()))
        result.extend(ops.CreateProject(project, workspace) for project in projects)
    for team, members in TEAMS.items():
        result.append(ops.CreateTeam(team, ORG))
        result.extend(ops.AddTeamMember(team, member) for member in members)
    result += [
        _binding("user:olivia", "organization_admin", organization_id=ORG),
        _binding("team:data-science", "organization_member", organization_id=ORG),
        _binding("team:ml-engineering", "organization_member", organization_id=ORG),
        # Staging is open to the people who build models...
        _binding("team:ml-engineering", "workspace_admin", workspace_id="staging"),
        _binding("team:data-science", "workspace_developer", workspace_id="staging"),
        _binding("team:contractors", "project_contributor", project_id="staging-llms"),
        # ...production is stricter: read for most, write only where someone owns it.
        _binding("team:ml-engineering", "workspace_viewer", workspace_id="production"),
        _binding("team:ml-engineering", "stack_admin", workspace_id="production"),
        _binding("team:data-science", "project_viewer", project_id="prod-recommendations"),
        _binding("team:data-science", "project_viewer", project_id="prod-fraud-detection"),
        _binding("user:grace", "project_admin", project_id="prod-fraud-detection"),
        _binding("service_account:ci-bot", "project_developer", project_id="prod-recommendations"),
        # The contractor may look at one production pipeline, shared with her alone.
        ops.SetResourceMembership(
            "user:eve", Resource("pipeline", "churn-model-training"), Scope(project_id="prod-recommendations"),
            ("read",),
        ),
    ]
    return result
