"""Listing one subject's or one node's bindings from the index: id order (as the database's
bytewise order), filters, paging."""

from __future__ import annotations

import random

from harness import Engine, tree, where
from hypothesis import given, settings
from hypothesis import strategies as st

from authz.domain import operations as ops
from authz.domain.model import Node


def test_filters_and_bytewise_order() -> None:
    e = tree(Engine())
    w, p = e.node(workspace_id="w1"), e.node(project_id="p1")
    # Ids whose order differs between bytewise and locale-aware collations.
    for binding_id, subject, scope, role in [
        ("b-1", "user:a", {"workspace_id": "w1"}, "workspace_viewer"),
        ("B2", "user:a", {"project_id": "p1"}, "project_viewer"),
        ("b.3", "user:b", {"workspace_id": "w1"}, "workspace_viewer"),
        ("b_4", "user:a", {"workspace_id": "w1"}, "workspace_developer"),
        ("a", "user:b", {"project_id": "p1"}, "project_viewer"),
        ("b10", "user:a", {"project_id": "p1"}, "project_contributor"),
    ]:
        e.write(ops.CreateRoleBinding(subject, role, where(**scope), binding_id))
    ids = lambda rows: [row.id for row in rows]  # noqa: E731
    assert ids(e.index.bindings_page("user:a", None, 100, None)) == ["B2", "b-1", "b10", "b_4"]
    assert ids(e.index.bindings_page(None, w, 100, None)) == ["b-1", "b.3", "b_4"]
    assert ids(e.index.bindings_page("user:a", p, 100, None)) == ["B2", "b10"]
    assert ids(e.index.bindings_page("user:a", p, 1, "B2")) == ["b10"]
    assert e.index.bindings_page("user:nobody", None, 100, None) == []
    assert e.index.bindings_page(None, Node("project", "nowhere"), 100, None) == []
    assert e.index.bindings_page("user:a", None, 0, None) == []


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), limit=st.integers(1, 7))
def test_paging_visits_each_binding_once_in_order(seed, limit) -> None:
    rng = random.Random(seed)
    e = tree(Engine())
    nodes = [e.node(project_id="p1"), e.node(workspace_id="w1")]
    for n in range(rng.randrange(0, 25)):
        node = rng.choice(nodes)
        role = "project_viewer" if node.kind == "project" else "workspace_viewer"
        subject = f"user:u{n}" if rng.random() < 0.5 else "user:shared"
        if e.index.roles_of(subject, node) is None:
            scope = where(**{f"{node.kind}_id": node.id})
            e.write(ops.CreateRoleBinding(subject, role, scope, f"id{rng.randrange(10**6)}-{n}"))
    for subject, node in (("user:shared", None), (None, nodes[0]), ("user:shared", nodes[1])):
        expected = sorted(
            row.id for row in e.index.bindings.values()
            if (subject is None or row.subject == subject) and (node is None or row.node == node)
        )
        seen: list[str] = []
        after = None
        while page := e.index.bindings_page(subject, node, limit, after):
            assert len(page) <= limit
            seen += [row.id for row in page]
            after = page[-1].id
        assert seen == expected
