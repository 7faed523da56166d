"""Change records on the wire and in words: ChangeOperation keeps Operation's numbering, every
operation converts both ways, filters match what the operations name, and the audit scope
is neither more nor less than it says."""

from __future__ import annotations

import pytest
from harness import Engine

from authz import token_file
from authz._gen.authz.v1 import changes_pb2 as changes_pb
from authz._gen.authz.v1 import directory_pb2 as dir_pb
from authz.api.convert import change_operations_from_proto, change_to_proto, operation_to_proto
from authz.api.interceptors.auth import scope_needed
from authz.domain import operations as ops
from authz.domain.model import ORGANIZATION, PROJECT, WORKSPACE, Node, Resource, Scope
from authz.engine.changes import ChangeFilter, describe, on_behalf_of
from authz.testing import example

SAMPLES: list[ops.Operation] = [
    ops.CreateOrganization("acme", "Acme"),
    ops.CreateWorkspace("w", "acme"),
    ops.CreateProject("p", "w", "P"),
    ops.CreateTeam("t", "acme"),
    ops.DeleteOrganization("acme"),
    ops.DeleteWorkspace("w"),
    ops.DeleteProject("p"),
    ops.DeleteTeam("t"),
    ops.AddTeamMember("t", "user:eve", 4102444800.0),
    ops.RemoveTeamMember("t", "user:eve"),
    ops.CreateRoleBinding("user:eve", "project_viewer", Scope(project_id="p"), "b1", 4102444800.5),
    ops.DeleteRoleBinding("b1"),
    ops.SetResourceMembership("user:eve", Resource("model", "m"), Scope(project_id="p"), ("read", "update"),
                              "user:ada", "user:grace", 4102444800.0),
    ops.DeleteResources((ops.ResourceRef(Resource("model", "m"), Scope(project_id="p")),)),
    ops.DeleteSubject("user:eve"),
    ops.CreateCustomRole("reviewer", "project", "project_viewer", (ops.PermissionSpec("model", "promote"),)),
    ops.UpdateCustomRole("reviewer", "project", "", (ops.PermissionSpec("model", "read"),), True),
    ops.DeleteCustomRole("reviewer", True),
]


def test_samples_cover_every_operation():
    assert {type(op) for op in SAMPLES} == set(ops.OPERATION_NAMES)


def test_change_operation_numbers_directory_operations_as_operation_does():
    ours = {f.number: (f.name, f.message_type.full_name) for f in changes_pb.ChangeOperation.DESCRIPTOR.fields}
    theirs = {f.number: (f.name, f.message_type.full_name) for f in dir_pb.Operation.DESCRIPTOR.fields}
    assert {number: ours[number] for number in theirs} == theirs
    assert {name for name, _ in ours.values()} == set(ops.OPERATION_NAMES.values())


@pytest.mark.parametrize("operation", SAMPLES, ids=lambda op: type(op).__name__)
def test_every_operation_converts_both_ways(operation):
    change = change_to_proto(ops.WriteRecord(3, (operation,), "admin", "r"))
    assert change_operations_from_proto(change) == [operation]
    assert describe(operation)


def test_a_directory_operation_has_the_same_bytes_as_an_import_operation():
    operation = SAMPLES[12]
    as_change = operation_to_proto(operation, changes_pb.ChangeOperation).SerializeToString()
    assert dir_pb.Operation.FromString(as_change) == operation_to_proto(operation)


def test_a_change_says_on_whose_behalf():
    record = ops.WriteRecord(7, tuple(SAMPLES[11:13]) + (
        ops.SetResourceMembership("user:x", Resource("model", "n"), Scope(project_id="p"), (), actor="user:bob"),
        ops.SetResourceMembership("user:y", Resource("model", "n"), Scope(project_id="p"), (),
                                  on_behalf_of="user:grace")), "zenml", "r1", 1700000000.25)
    message = change_to_proto(record)
    assert message.on_behalf_of == ["user:grace", "user:bob"]
    assert (message.revision, message.token_name, message.request_id) == (7, "zenml", "r1")
    assert message.committed_at.ToJsonString() == "2023-11-14T22:13:20.250Z"
    assert on_behalf_of(SAMPLES[:12]) == []


def test_descriptions_read_as_sentences():
    assert describe(SAMPLES[12]) == ("share model/m on project:p with user:eve for read, update until "
                                     "2100-01-01T00:00:00Z, as user:ada, on behalf of user:grace")
    assert describe(SAMPLES[10]) == ("bind user:eve to project_viewer on project:p until 2100-01-01T00:00:00.500000Z"
                                     " (binding b1)")
    assert describe(SAMPLES[5]) == "delete workspace w and everything in it"


def filtered(wanted: ChangeFilter, engine: Engine, operations: list[ops.Operation]) -> list[int] | None:
    return wanted.matching(ops.WriteRecord(1, tuple(operations), "admin", ""), engine.index.chain)


def test_filters_match_the_subject_and_the_node_of_one_same_operation():
    engine = Engine()
    engine.write(*example.operations())
    recorded = example.operations()
    eve_in_production = filtered(ChangeFilter("user:eve", Node(WORKSPACE, "production")), engine, recorded)
    assert [recorded[i] for i in eve_in_production or ()] == [recorded[-1]]  # the share, in a project below
    eve = filtered(ChangeFilter("user:eve"), engine, recorded)
    assert [type(recorded[i]) for i in eve or ()] == [ops.AddTeamMember, ops.SetResourceMembership]
    assert filtered(ChangeFilter("user:nobody"), engine, recorded) is None
    contractors = filtered(ChangeFilter("team:contractors"), engine, recorded)
    assert len(contractors or ()) == 3  # created, given a member, bound
    organization = filtered(ChangeFilter(node=Node(ORGANIZATION, "acme")), engine, recorded)
    assert len(organization or ()) == len([op for op in recorded if not isinstance(op, ops.AddTeamMember)])
    # A node that is gone is still found by the ids the operation recorded.
    assert filtered(ChangeFilter(node=Node(PROJECT, "gone")), engine, [ops.DeleteProject("gone")]) == [0]
    assert filtered(ChangeFilter(node=Node(WORKSPACE, "w")), engine, [ops.CreateProject("gone", "w")]) == [0]


def test_the_token_filter_takes_the_whole_write():
    engine = Engine()
    record = ops.WriteRecord(1, (SAMPLES[0], SAMPLES[1]), "zenml", "")
    assert ChangeFilter(token_name="zenml").matching(record, engine.index.chain) == [0, 1]
    assert ChangeFilter(token_name="admin").matching(record, engine.index.chain) is None


def test_audit_and_integration_each_add_their_own_calls_to_the_checks():
    allowed = {held: {needed for needed in token_file.SCOPES if token_file.includes(held, needed)}
               for held in token_file.SCOPES}
    assert allowed == {
        "check": {"check"},
        "integration": {"check", "integration"},
        "audit": {"check", "audit"},
        "admin": {"check", "integration", "audit", "admin"},
    }
    assert scope_needed("/authz.v1.ChangeService/WatchChanges", True) == "audit"
    assert scope_needed("/authz.v1.ChangeService/ListChanges", False) == "audit"
