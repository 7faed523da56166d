"""An RBAC implementation that allows everything and asks no one, loaded by the ZenML server of
benchmarks/zenml_overhead.py: it separates ZenML's own RBAC bookkeeping from the sidecar call."""

from __future__ import annotations

from zenml.zen_server.rbac.rbac_interface import RBACInterface


class AllowAll(RBACInterface):
    def check_permissions(self, user, resources, action):
        return {resource: True for resource in resources}

    def list_allowed_resource_ids(self, user, resource, action):
        return True, []

    def update_resource_membership(self, sharing_user, resource, actions, user_id=None, team_id=None):
        return None

    def delete_resources(self, resources):
        return None
