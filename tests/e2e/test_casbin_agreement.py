"""`authz export --casbin` and the sidecar agree on every one of 2,400 random checks."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import casbin
import pytest
from worlds import casbin_request, parents

from authz._gen.authz.v1 import authorization_pb2 as authz_pb
from authz._gen.authz.v1 import common_pb2 as common_pb
from authz.domain import operations as ops
from authz.domain.model import Node
from authz.engine.policy_files import load_policy
from authz.testing.synthetic import random_checks, random_world, scope_of_node

pytestmark = pytest.mark.e2e
CHECKS = 2400


def _request(subject, action, rtype, rid, node: Node) -> authz_pb.CheckRequest:
    scope = scope_of_node(node)
    return authz_pb.CheckRequest(
        subject=subject, action=action, resource=common_pb.Resource(type=rtype, id=rid),
        scope=common_pb.Scope(organization_id=scope.organization_id, workspace_id=scope.workspace_id,
                              project_id=scope.project_id),
    )


def test_export_and_sidecar_agree_on_random_checks(server, tmp_path):
    policy = load_policy("policies")
    roles: dict[str, list[str]] = {}
    for role in policy.roles.values():
        roles.setdefault(role.level, []).append(role.name)
    world = random_world(20261122, roles, policy.type_levels, organizations=3, bindings=200, shares=120)
    # Grants that expire in the world: a third of the bindings, shares and memberships, half of
    # them expired before the checks and the export, half expiring long after.
    soon, later = time.time() + 3, time.time() + 86400
    operations = []
    expiring = 0
    for position, op in enumerate(world.operations):
        if isinstance(op, (ops.CreateRoleBinding, ops.SetResourceMembership, ops.AddTeamMember)) and position % 3 == 0:
            op = dataclasses.replace(op, expires_at=soon if position % 2 else later)
            expiring += 1
        operations.append(op)
    assert expiring > 50
    with server.client() as client:
        client.import_operations(operations)
        time.sleep(max(0.0, soon - time.time()))
        checks = list(random_checks(7, world, policy.type_levels, CHECKS))
        decisions = []
        for start in range(0, len(checks), 500):
            batch = client.batch_check(_request(*check) for check in checks[start:start + 500])
            decisions += [result.allowed for result in batch.results]

    out = tmp_path / "casbin"
    subprocess.run([sys.executable, "-m", "authz.cli", "export", "--casbin", str(out),
                    "--database-url", server.database_url], check=True, capture_output=True)
    assert "grants expired by then are left out" in (out / "policy.csv").read_text().splitlines()[0]
    oracle = casbin.Enforcer(str(out / "model.conf"), str(out / "policy.csv"))
    hierarchy = parents(world.operations)
    disagreements = [
        (check, mine) for check, mine in zip(checks, decisions, strict=True)
        if oracle.enforce(*casbin_request(hierarchy, *check)) != mine
    ]
    assert disagreements == []
    assert len(decisions) == CHECKS
    # The comparison is only worth something if both answers occur often.
    assert 0.1 < sum(decisions) / CHECKS < 0.9
