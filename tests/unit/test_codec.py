"""The change-table codec: every operation survives encode -> decode exactly."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authz.domain.model import Resource, Scope
from authz.domain.operations import (
    OPERATION_NAMES,
    AddTeamMember,
    CreateCustomRole,
    CreateOrganization,
    CreateProject,
    CreateRoleBinding,
    CreateTeam,
    CreateWorkspace,
    DeleteCustomRole,
    DeleteOrganization,
    DeleteProject,
    DeleteResources,
    DeleteRoleBinding,
    DeleteSubject,
    DeleteTeam,
    DeleteWorkspace,
    Operation,
    PermissionSpec,
    RemoveTeamMember,
    ResourceRef,
    SetResourceMembership,
    UpdateCustomRole,
)
from authz.storage import codec

EXAMPLES: list[Operation] = [
    CreateOrganization("acme", 'Acme, Inc. \u2014 "HQ"'),
    CreateOrganization("bare"),
    CreateWorkspace("ws-1", "acme", "Workspace one"),
    CreateProject("p.1", "ws-1", ""),
    CreateTeam("admins", "acme", "Admins"),
    DeleteOrganization("acme"),
    DeleteWorkspace("ws-1"),
    DeleteProject("p.1"),
    DeleteTeam("admins"),
    AddTeamMember("admins", "user:alice"),
    RemoveTeamMember("admins", "service_account:ci@acme"),
    CreateRoleBinding("team:admins", "editor", Scope("acme", "ws-1", "p.1"), "b-0001"),
    CreateRoleBinding("user:bob", "viewer", Scope(organization_id="acme")),
    DeleteRoleBinding("b-0001"),
    SetResourceMembership(
        "user:carol",
        Resource("document", "doc-9"),
        Scope(workspace_id="ws-1"),
        ("read", "write"),
        "user:alice",
    ),
    SetResourceMembership("user:dave", Resource("dashboard"), Scope(project_id="p.1"), ()),
    DeleteResources(
        (
            ResourceRef(Resource("document", "doc-9"), Scope(workspace_id="ws-1")),
            ResourceRef(Resource("folder", "f"), Scope("acme", "", "")),
        )
    ),
    DeleteResources(()),
    DeleteSubject("user:erin"),
    CreateCustomRole("ml_reviewer", "project", "project_viewer",
                     (PermissionSpec("model", "promote"), PermissionSpec("model_version", "promote"))),
    UpdateCustomRole("ml_reviewer", "project", "", (PermissionSpec("model", "*"),), force=True),
    DeleteCustomRole("ml_reviewer", force=True),
]


def test_examples_cover_every_operation_type() -> None:
    assert {type(op) for op in EXAMPLES} == set(OPERATION_NAMES)


@pytest.mark.parametrize("operation", EXAMPLES, ids=lambda op: OPERATION_NAMES[type(op)])
def test_round_trip_of_each_operation(operation: Operation) -> None:
    decoded = codec.decode(codec.encode([operation]))
    assert decoded == (operation,)
    assert type(decoded[0]) is type(operation)


def test_round_trip_of_a_whole_record_keeps_order_and_tuples() -> None:
    decoded = codec.decode(codec.encode(EXAMPLES))
    assert decoded == tuple(EXAMPLES)
    membership = next(op for op in decoded if isinstance(op, SetResourceMembership))
    assert isinstance(membership.actions, tuple)
    deletion = next(op for op in decoded if isinstance(op, DeleteResources) and op.resources)
    assert isinstance(deletion.resources, tuple)
    assert isinstance(deletion.resources[0], ResourceRef)
    assert isinstance(deletion.resources[0].scope, Scope)


def test_empty_record() -> None:
    assert codec.encode(()) == "[]"
    assert codec.decode("[]") == ()


def test_encoding_is_tagged_json() -> None:
    data = json.loads(codec.encode([CreateTeam("t1", "o1", "T")]))
    assert data == [{"op": "create_team", "id": "t1", "organization_id": "o1", "display_name": "T"}]
    data = json.loads(codec.encode([DeleteResources((ResourceRef(Resource("doc", "1"), Scope("o")),))]))
    assert data == [
        {
            "op": "delete_resources",
            "resources": [
                {
                    "resource": {"type": "doc", "id": "1"},
                    "scope": {"organization_id": "o", "workspace_id": "", "project_id": ""},
                }
            ],
        }
    ]


def test_missing_fields_take_their_defaults() -> None:
    assert codec.decode('[{"op": "create_organization", "id": "o1"}]') == (CreateOrganization("o1"),)
    assert codec.decode(
        '[{"op": "create_role_binding", "subject": "user:a", "role": "viewer", "scope": {"project_id": "p"}}]'
    ) == (CreateRoleBinding("user:a", "viewer", Scope(project_id="p")),)


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "[1]",
        '[{"id": "x"}]',
        '[{"op": "no_such_operation"}]',
        '[{"op": "delete_team", "id": "t", "extra": 1}]',
        '[{"op": "delete_team", "id": 5}]',
        (
            '[{"op": "set_resource_membership", "subject": "user:a", "resource": {"type": "d"},'
            ' "scope": {}, "actions": "read"}]'
        ),
        '[{"op": "create_role_binding", "subject": "user:a", "role": "r", "scope": ["o"]}]',
    ],
)
def test_malformed_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        codec.decode(text)


def test_non_operations_are_rejected() -> None:
    with pytest.raises(TypeError):
        codec.encode([Scope("o")])  # type: ignore[list-item]


def _as_json_dumps_would(operations) -> str:
    """The reference: json.dumps over the tagged dicts that encode() writes directly."""
    return json.dumps(
        [{"op": OPERATION_NAMES[type(op)], **dataclasses.asdict(op)} for op in operations],
        separators=(",", ":"),
    )


def test_the_text_is_what_json_dumps_writes() -> None:
    assert codec.encode(EXAMPLES) == _as_json_dumps_would(EXAMPLES)


@given(
    texts=st.lists(st.text(), min_size=4, max_size=4),
    actions=st.lists(st.text(max_size=8), max_size=3),
    force=st.booleans(),
)
def test_any_text_encodes_as_json_dumps_would_and_comes_back(texts, actions, force) -> None:
    a, b, c, d = texts
    operations = [
        CreateRoleBinding(a, b, Scope(c, d, a), d),
        SetResourceMembership(b, Resource(c, d), Scope(project_id=a), tuple(actions), c),
        DeleteResources((ResourceRef(Resource(a, b), Scope(c)),)),
        UpdateCustomRole(a, b, c, (PermissionSpec(d, a),), force=force),
    ]
    text = codec.encode(operations)
    assert text == _as_json_dumps_would(operations)
    assert codec.decode(text) == tuple(operations)


def test_a_field_of_the_wrong_type_is_refused_before_anything_is_written() -> None:
    with pytest.raises(TypeError):
        codec.encode([CreateTeam("t1", None)])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        codec.encode([DeleteCustomRole("r", force=1)])  # type: ignore[arg-type]
