"""The Storage contract (authz/storage/base.py): what every backend must do, through the
Protocol alone.

A backend's test class subclasses StorageContract and gives a `make_storage` fixture: a
function that opens a new handle (a Storage) on one fresh, empty, unmigrated database of the
test, as another connection or process would (test_storage_contract.py: memory, SQLite,
PostgreSQL). Nothing here knows SQL: the SQLAlchemy and dialect tests are in
tests/integration/test_sql_storage.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authz.domain.errors import ConcurrentWrite, Unavailable
from authz.domain.model import (
    ORGANIZATION,
    PROJECT,
    WORKSPACE,
    BindingRow,
    Change,
    MemberRow,
    Node,
    OrganizationRow,
    ProjectRow,
    Put,
    Remove,
    Resource,
    RoleRow,
    Row,
    Scope,
    ShareRow,
    TeamRow,
    WorkspaceRow,
)
from authz.domain.operations import (
    AddTeamMember,
    CreateCustomRole,
    CreateOrganization,
    CreateRoleBinding,
    DeleteResources,
    Operation,
    PermissionSpec,
    ResourceRef,
    SetResourceMembership,
    WriteRecord,
)
from authz.storage.base import Storage

R = TypeVar("R")

LOAD_ORDER = (RoleRow, OrganizationRow, WorkspaceRow, ProjectRow, TeamRow, MemberRow, BindingRow, ShareRow)
MakeStorage = Callable[[], Storage]


def record(revision: int, operations: Sequence[Operation] = ()) -> WriteRecord:
    return WriteRecord(revision, tuple(operations), "user:tester", f"req-{revision}")


def commit(store: Storage, changes: Sequence[Change], operations: Sequence[Operation] = ()) -> int:
    """Commit `changes` as the next revision; return that revision."""
    revision = store.revision() + 1
    store.commit(revision, changes, record(revision, operations))
    return revision


def load(store: Storage) -> tuple[int, list[Row]]:
    """The revision and rows `load` streams, checking one call per table, parents first."""
    tables: list[list[Row]] = []
    revision = store.load(lambda table: tables.append(list(table)))
    for table in tables:
        assert len({type(row) for row in table}) <= 1, "one call per table"
    rows = [row for table in tables for row in table]
    ranks = [LOAD_ORDER.index(type(row)) for row in rows]
    assert ranks == sorted(ranks), "load must stream parents before children"
    return revision, rows


def assert_stored(store: Storage, expected: Sequence[Row] | set[Row], revision: int) -> None:
    loaded_revision, rows = load(store)
    assert loaded_revision == revision
    assert store.revision() == revision
    assert Counter(rows) == Counter(expected)


def binding(id: str, subject: str, node: Node, role: str = "viewer", created: int = 1) -> BindingRow:
    return BindingRow(id, subject, role, node, created)


ROLE = RoleRow("auditor", PROJECT, "project_viewer", (("pipeline", "read"), ("model", "read")))
ORG = OrganizationRow("acme", "Acme")
WS = WorkspaceRow("ws", "acme", "Workspace")
PROJ = ProjectRow("proj", "ws", "Project")
TEAM = TeamRow("admins", "acme", "Admins")
MEMBER = MemberRow("admins", "user:alice")
BINDING = binding("b1", "team:admins", PROJ.node, role="editor")
SHARE = ShareRow(WS.node, "document", "doc-1", "user:bob", frozenset({"write", "read"}))
ALL_ROWS: list[Row] = [ROLE, ORG, WS, PROJ, TEAM, MEMBER, BINDING, SHARE]
EXPIRES = 1_900_000_000.123456  # to the microsecond, as the API keeps it


def seed(store: Storage) -> int:
    return commit(store, [Put(row) for row in ALL_ROWS], [CreateOrganization("acme", "Acme")])


class Model:
    """The stored rows, as a dict from primary key to row, and a generator of valid changes."""

    def __init__(self, prefix: str) -> None:
        self.rows: dict[tuple[object, ...], Row] = {}
        self.prefix = prefix  # in every name it makes
        self.counter = 0

    @staticmethod
    def key(row: Row) -> tuple[object, ...]:
        if isinstance(row, MemberRow):
            return (MemberRow, row.team_id, row.subject)
        if isinstance(row, ShareRow):
            return (ShareRow, row.node, row.resource_type, row.resource_id, row.subject)
        if isinstance(row, RoleRow):
            return (RoleRow, row.name)
        return (type(row), row.id)

    def apply(self, changes: Sequence[Change]) -> None:
        for change in changes:
            key = self.key(change.row)
            if isinstance(change, Put):
                assert key not in self.rows
                self.rows[key] = change.row
            else:
                assert self.rows.pop(key) == change.row

    def of(self, row_type: type[R]) -> list[R]:
        return [row for row in self.rows.values() if isinstance(row, row_type)]

    def fresh(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}{self.prefix}-{self.counter}"

    def cascade(self, row: Row) -> list[Change]:
        """Remove `row` and everything under it, children first (as the engine does)."""
        changes: list[Change] = []
        if isinstance(row, OrganizationRow):
            for workspace in self.of(WorkspaceRow):
                if workspace.organization_id == row.id:
                    changes += self.cascade(workspace)
            for team in self.of(TeamRow):
                if team.organization_id == row.id:
                    changes += self.cascade(team)
        elif isinstance(row, WorkspaceRow):
            for project in self.of(ProjectRow):
                if project.workspace_id == row.id:
                    changes += self.cascade(project)
        elif isinstance(row, TeamRow):
            changes += [Remove(m) for m in self.of(MemberRow) if m.team_id == row.id]
        if isinstance(row, (OrganizationRow, WorkspaceRow, ProjectRow)):
            attached_rows: list[BindingRow | ShareRow] = [*self.of(BindingRow), *self.of(ShareRow)]
            for attached in attached_rows:
                if attached.node == row.node:
                    changes.append(Remove(attached))
        changes.append(Remove(row))
        return changes


SUBJECTS = ["user:a", "user:b", "service_account:ci", "team:t1"]
ROLES = ["viewer", "editor"]
ACTIONS = ["read", "write", "share"]
PERMISSIONS = [("pipeline", "read"), ("model", "update"), ("*", "read")]
names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6)


def draw_step(data: st.DataObject, model: Model, pending: list[Change]) -> None:
    """Draw one valid step against `model` (already updated with `pending`) and append its changes."""
    nodes: list[OrganizationRow | WorkspaceRow | ProjectRow] = [
        *model.of(OrganizationRow),
        *model.of(WorkspaceRow),
        *model.of(ProjectRow),
    ]
    choices = ["org", "role"]
    if model.of(OrganizationRow):
        choices += ["workspace", "team"]
    if model.of(WorkspaceRow):
        choices.append("project")
    if model.of(TeamRow):
        choices.append("member")
    if nodes:
        choices += ["binding", "binding", "share", "remove_node"]
    if model.of(BindingRow):
        choices.append("remove_binding")
    if model.of(MemberRow):
        choices.append("remove_member")
    if model.of(ShareRow):
        choices.append("change_share")
    if model.of(RoleRow):
        choices += ["change_role", "remove_role"]
    step = data.draw(st.sampled_from(choices))
    changes: list[Change] = []
    if step == "org":
        changes = [Put(OrganizationRow(model.fresh("o"), data.draw(names)))]
    elif step == "role":
        permissions = tuple(data.draw(st.lists(st.sampled_from(PERMISSIONS), unique=True)))
        level = data.draw(st.sampled_from([ORGANIZATION, WORKSPACE, PROJECT]))
        changes = [Put(RoleRow(model.fresh("r"), level, data.draw(st.sampled_from(["", *ROLES])), permissions))]
    elif step == "change_role":
        role = data.draw(st.sampled_from(model.of(RoleRow)))
        permissions = tuple(data.draw(st.lists(st.sampled_from(PERMISSIONS), unique=True)))
        changes = [Remove(role), Put(RoleRow(role.name, role.level, role.base_role, permissions))]
    elif step == "remove_role":
        changes = [Remove(data.draw(st.sampled_from(model.of(RoleRow))))]
    elif step == "workspace":
        org = data.draw(st.sampled_from(model.of(OrganizationRow)))
        changes = [Put(WorkspaceRow(model.fresh("w"), org.id, data.draw(names)))]
    elif step == "project":
        workspace = data.draw(st.sampled_from(model.of(WorkspaceRow)))
        changes = [Put(ProjectRow(model.fresh("p"), workspace.id, data.draw(names)))]
    elif step == "team":
        org = data.draw(st.sampled_from(model.of(OrganizationRow)))
        changes = [Put(TeamRow(model.fresh("t"), org.id))]
    elif step == "member":
        team = data.draw(st.sampled_from(model.of(TeamRow)))
        member = MemberRow(team.id, data.draw(st.sampled_from(SUBJECTS)))
        changes = [] if model.key(member) in model.rows else [Put(member)]
    elif step == "binding":
        node = data.draw(st.sampled_from(nodes)).node
        subject, role = data.draw(st.sampled_from(SUBJECTS)), data.draw(st.sampled_from(ROLES))
        taken = any((b.subject, b.role, b.node) == (subject, role, node) for b in model.of(BindingRow))
        changes = [] if taken else [Put(BindingRow(model.fresh("b"), subject, role, node, model.counter))]
    elif step == "share":
        node = data.draw(st.sampled_from(nodes)).node
        actions = frozenset(data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1)))
        row = ShareRow(
            node, "doc", data.draw(st.sampled_from(["", "d1"])), data.draw(st.sampled_from(SUBJECTS)), actions
        )
        old = model.rows.get(model.key(row))
        changes = ([Remove(old)] if old is not None else []) + [Put(row)]
    elif step == "change_share":
        share = data.draw(st.sampled_from(model.of(ShareRow)))
        actions = frozenset(data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1)))
        changes = [
            Remove(share),
            Put(ShareRow(share.node, share.resource_type, share.resource_id, share.subject, actions)),
        ]
    elif step == "remove_binding":
        changes = [Remove(data.draw(st.sampled_from(model.of(BindingRow))))]
    elif step == "remove_member":
        changes = [Remove(data.draw(st.sampled_from(model.of(MemberRow))))]
    elif step == "remove_node":
        target = data.draw(st.sampled_from([*nodes, *model.of(TeamRow)]))
        changes = model.cascade(target)
    model.apply(changes)
    pending.extend(changes)


class StorageContract:
    """Every test of the contract; a subclass gives the `make_storage` fixture."""

    @pytest.fixture
    def make_storage(self) -> MakeStorage:
        raise NotImplementedError("a backend's test class gives make_storage")

    @pytest.fixture
    def storage(self, make_storage: MakeStorage) -> Storage:
        store = make_storage()
        store.migrate()
        return store

    # Migrations.

    def test_empty_database(self, storage: Storage) -> None:
        assert storage.revision() == 0
        assert_stored(storage, [], 0)
        assert storage.read_changes(0, 100) == []
        assert storage.list_role_bindings(100, None) == []

    def test_migrate_is_idempotent(self, make_storage: MakeStorage) -> None:
        first = make_storage()
        before, head = first.migrate()
        assert before is None
        seed(first)
        assert first.migrate() == (head, head)
        second = make_storage()
        assert second.migrate() == (head, head)
        assert second.revision() == 1
        assert_stored(second, ALL_ROWS, 1)

    # Commits and loads.

    def test_commit_and_load_every_row_type(self, storage: Storage) -> None:
        assert commit(storage, [Put(ORG), Put(TEAM), Put(ROLE)]) == 1
        assert commit(storage, [Put(WS), Put(PROJ), Put(MEMBER)]) == 2
        other_project = ProjectRow("proj-2", "ws")
        other_role = RoleRow("deployer", WORKSPACE, "", (("stack", "update"),))
        shares: list[Row] = [
            SHARE,
            ShareRow(PROJ.node, "document", "doc-1", "user:bob", frozenset({"read"})),
            ShareRow(ORG.node, "folder", "", "team:admins", frozenset({"read", "share", "delete"})),
        ]
        bindings: list[Row] = [
            BINDING,
            binding("b2", "user:carol", ORG.node, created=3),
            binding("b3", "user:carol", WS.node),
        ]
        assert commit(storage, [Put(other_project), Put(other_role), *map(Put, bindings), *map(Put, shares)]) == 3
        stored: list[Row] = [ORG, TEAM, ROLE, WS, PROJ, MEMBER, other_project, other_role, *bindings, *shares]
        assert_stored(storage, stored, 3)

        # Removes of every type, children before parents.
        removed = [shares[0], bindings[1], MEMBER, other_project, other_role]
        assert commit(storage, [Remove(row) for row in removed]) == 4
        remaining = [row for row in stored if row not in removed]
        assert_stored(storage, remaining, 4)
        last = (BINDING, bindings[2], *shares[1:], PROJ, WS, TEAM, ORG, ROLE)
        assert commit(storage, [Remove(row) for row in last]) == 5
        assert_stored(storage, [], 5)

    def test_rows_read_back_exactly(self, storage: Storage) -> None:
        rows: list[Row] = [
            OrganizationRow("o.1", "Ünïcødé \u2603 'quotes' \"double\", commas"),
            OrganizationRow("O-2", ""),
            WorkspaceRow("w@1", "o.1", "x" * 500),
            TeamRow("t_1", "O-2"),
            MemberRow("t_1", "service_account:" + "s" * 128),
            BindingRow("B" * 64, "user:" + "u" * 128, "r" * 64, Node(ORGANIZATION, "o" * 128), 2**62),
            ShareRow(Node(WORKSPACE, "w@1"), "t" * 64, "i" * 128, "team:t_1", frozenset({"a"})),
            ShareRow(Node(WORKSPACE, "w@1"), "doc", "", "team:t_1", frozenset({"z", "a", "m_m"})),
            RoleRow("r" * 64, ORGANIZATION, "b" * 64, (("t" * 64, "a" * 64), ("*", "*"), ("doc", "read"))),
            RoleRow("bare", PROJECT, "", ()),
        ]
        commit(storage, [Put(row) for row in rows])
        _, loaded = load(storage)
        assert Counter(loaded) == Counter(rows)
        for row in loaded:
            if isinstance(row, ShareRow):
                assert isinstance(row.actions, frozenset)
            if isinstance(row, BindingRow):
                assert isinstance(row.node, Node) and row.created_revision == 2**62
            if isinstance(row, RoleRow):
                assert isinstance(row.permissions, tuple) and all(isinstance(p, tuple) for p in row.permissions)

    def test_changes_apply_in_order_within_one_commit(self, storage: Storage) -> None:
        seed(storage)
        renamed = OrganizationRow("beta", "Beta v2")
        changed_share = ShareRow(
            SHARE.node, SHARE.resource_type, SHARE.resource_id, SHARE.subject, frozenset({"read"})
        )
        rebound = binding("b1", "team:admins", PROJ.node, role="owner", created=2)
        changed_role = RoleRow(ROLE.name, ROLE.level, "", (("pipeline", "update"),))
        changes: list[Change] = [
            Put(OrganizationRow("beta", "Beta")),
            Remove(OrganizationRow("beta", "Beta")),
            Put(renamed),
            Remove(SHARE),
            Put(changed_share),
            Remove(BINDING),
            Put(rebound),
            Put(binding("b9", "user:z", PROJ.node)),
            Remove(binding("b9", "user:z", PROJ.node)),
            Remove(ROLE),
            Put(changed_role),
        ]
        assert commit(storage, changes) == 2
        kept = [row for row in ALL_ROWS if row not in (SHARE, BINDING, ROLE)]
        assert_stored(storage, [*kept, renamed, changed_share, rebound, changed_role], 2)

    def test_revisions_are_gap_free_with_one_change_record_each(self, storage: Storage) -> None:
        operations: list[tuple[Operation, ...]] = [
            (CreateOrganization("acme", "Acme"),),
            (CreateRoleBinding("user:a", "viewer", Scope("acme"), "b-a"), AddTeamMember("t", "user:a")),
            (),
            (
                SetResourceMembership("user:b", Resource("doc", "1"), Scope("acme"), ("read", "write"), "user:a"),
                DeleteResources((ResourceRef(Resource("doc", "1"), Scope("acme")),)),
            ),
            (CreateCustomRole("auditor", PROJECT, "project_viewer", (PermissionSpec("model", "read"),)),),
        ]
        changes: list[list[Change]] = [
            [Put(ORG)],
            [Put(binding("b-a", "user:a", ORG.node))],
            [],
            [Put(ShareRow(ORG.node, "doc", "1", "user:b", frozenset({"read"})))],
            [Put(ROLE)],
        ]
        before = time.time()
        for index, (ops, chs) in enumerate(zip(operations, changes, strict=True)):
            revision = index + 1
            committed_at = 1234.5 if revision == 2 else 0.0
            storage.commit(
                revision, chs, WriteRecord(revision, ops, f"actor-{revision}", f"req-{revision}", committed_at)
            )
            assert storage.revision() == revision
        after = time.time()

        records = storage.read_changes(0, 100)
        assert [r.revision for r in records] == [1, 2, 3, 4, 5]
        assert [r.operations for r in records] == operations
        assert [r.changes for r in records] == [tuple(chs) for chs in changes]  # the row changes, in order
        assert [(r.actor, r.request_id) for r in records] == [(f"actor-{n}", f"req-{n}") for n in (1, 2, 3, 4, 5)]
        assert records[1].committed_at == 1234.5
        for r in (records[0], records[2], records[3], records[4]):
            assert before - 1 <= r.committed_at <= after + 1
        assert [r.revision for r in storage.read_changes(1, 2)] == [2, 3]
        assert [r.revision for r in storage.read_changes(3, 100)] == [4, 5]
        assert storage.read_changes(5, 100) == []
        assert storage.read_changes(0, 0) == []

    def test_wrong_expected_revision_is_a_concurrent_write(self, storage: Storage) -> None:
        seed(storage)
        for stale in (1, 3, 0):
            with pytest.raises(ConcurrentWrite):
                storage.commit(
                    stale, [Put(OrganizationRow("other"))], record(stale, [CreateOrganization("other")])
                )
        assert_stored(storage, ALL_ROWS, 1)
        assert [r.revision for r in storage.read_changes(0, 100)] == [1]
        assert commit(storage, [Put(OrganizationRow("other"))]) == 2

    def test_record_must_match_the_revision(self, storage: Storage) -> None:
        with pytest.raises(ValueError):
            storage.commit(1, [Put(ORG)], record(2))
        assert_stored(storage, [], 0)

    @pytest.mark.parametrize(
        "missing",
        [
            OrganizationRow("ghost"),
            WorkspaceRow("ghost", "acme"),
            ProjectRow("ghost", "ws"),
            TeamRow("ghost", "acme"),
            MemberRow("admins", "user:ghost"),
            binding("ghost", "user:ghost", Node(PROJECT, "proj")),
            ShareRow(Node(WORKSPACE, "ws"), "document", "doc-1", "user:ghost", frozenset({"read"})),
            RoleRow("ghost", PROJECT, "", ()),
        ],
        ids=lambda row: type(row).__name__,
    )
    def test_removing_a_missing_row_rolls_back_the_whole_commit(self, storage: Storage, missing: Row) -> None:
        seed(storage)
        changes: list[Change] = [
            Put(OrganizationRow("new-org")),
            Remove(BINDING),
            Put(binding("b-new", "user:new", ORG.node)),
            Remove(ROLE),
            Remove(missing),
            Remove(MEMBER),
        ]
        with pytest.raises(ConcurrentWrite):
            storage.commit(2, changes, record(2))
        assert_stored(storage, ALL_ROWS, 1)
        assert [r.revision for r in storage.read_changes(0, 100)] == [1]
        # The same removal twice in one run: the second finds nothing.
        with pytest.raises(ConcurrentWrite):
            storage.commit(2, [Remove(BINDING), Remove(BINDING)], record(2))
        assert_stored(storage, ALL_ROWS, 1)

    def test_foreign_key_violations_roll_back(self, storage: Storage) -> None:
        """(What is raised is the backend's own: SQLAlchemy's IntegrityError for SqlStorage.)"""
        seed(storage)
        # The organization still has a workspace and a team: nothing may be silently cascaded.
        with pytest.raises(Exception) as raised:
            storage.commit(2, [Put(OrganizationRow("new-org")), Remove(BINDING), Remove(ORG)], record(2))
        assert not isinstance(raised.value, ConcurrentWrite)
        assert_stored(storage, ALL_ROWS, 1)
        # A child whose parent does not exist.
        for orphan in (ProjectRow("p2", "no-such-workspace"), WorkspaceRow("w2", "no-such-org"),
                       TeamRow("t2", "no-such-org"), MemberRow("no-such-team", "user:x")):
            with pytest.raises(Exception):  # noqa: B017
                storage.commit(2, [Put(OrganizationRow("new-org")), Put(orphan)], record(2))
        assert_stored(storage, ALL_ROWS, 1)
        assert [r.revision for r in storage.read_changes(0, 100)] == [1]
        assert commit(storage, [Put(OrganizationRow("new-org"))]) == 2

    def test_duplicate_rows_are_rejected_and_roll_back(self, storage: Storage) -> None:
        seed(storage)
        for duplicate in (
            ORG,
            BINDING,
            binding("b-other-id", BINDING.subject, BINDING.node, BINDING.role),
            SHARE,
            ROLE,
            RoleRow(ROLE.name, WORKSPACE, "", ()),
            MEMBER,
        ):
            with pytest.raises(Exception):  # noqa: B017
                storage.commit(2, [Put(OrganizationRow("new-org")), Put(duplicate)], record(2))
        assert_stored(storage, ALL_ROWS, 1)

    def test_concurrent_writers_exactly_one_wins(self, make_storage: MakeStorage, storage: Storage) -> None:
        seed(storage)
        others = [make_storage() for _ in range(4)]
        barrier = threading.Barrier(len(others))
        outcomes: list[str] = []

        def write(index: int, store: Storage) -> None:
            row = OrganizationRow(f"org-{index}")
            barrier.wait(timeout=30)
            try:
                store.commit(2, [Put(row)], record(2))
                outcomes.append(f"won:{index}")
            except ConcurrentWrite:
                outcomes.append("lost")

        threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate(others)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        finally:
            for other in others:
                other.close()
        assert sorted(outcomes)[:3] == ["lost"] * 3 and len(outcomes) == 4
        winner = int(sorted(outcomes)[3].split(":")[1])
        assert_stored(storage, [*ALL_ROWS, OrganizationRow(f"org-{winner}")], 2)
        assert [r.revision for r in storage.read_changes(0, 100)] == [1, 2]

    def test_load_reads_one_snapshot(self, make_storage: MakeStorage, storage: Storage) -> None:
        seed(storage)
        writer = make_storage()
        rows: list[Row] = []
        calls: list[int] = []
        late: list[Row] = [OrganizationRow("late"), binding("b-late", "user:late", ORG.node),
                           RoleRow("late", PROJECT, "", ())]

        def sink(table: Iterable[Row]) -> None:
            if not calls:  # while the snapshot is open, another writer commits
                commit(writer, [Put(row) for row in late])
            calls.append(1)
            rows.extend(table)

        try:
            revision = storage.load(sink)
        finally:
            writer.close()
        assert revision == 1
        assert Counter(rows) == Counter(ALL_ROWS)
        assert storage.revision() == 2
        assert_stored(storage, [*ALL_ROWS, *late], 2)

    def test_data_survives_close_and_reopen(self, make_storage: MakeStorage) -> None:
        store = make_storage()
        store.migrate()
        seed(store)
        commit(store, [Remove(MEMBER)])
        store.close()
        reopened = make_storage()
        try:
            expected = [row for row in ALL_ROWS if row != MEMBER]
            assert_stored(reopened, expected, 2)
            reopened.migrate()
            assert_stored(reopened, expected, 2)
            assert [r.revision for r in reopened.read_changes(0, 10)] == [1, 2]
            assert reopened.read_changes(0, 10)[0].operations == (CreateOrganization("acme", "Acme"),)
        finally:
            reopened.close()

    def test_ten_thousand_bindings_in_one_commit(self, storage: Storage) -> None:
        seed(storage)
        rows = [binding(f"bulk-{i:05d}", f"user:u{i}", PROJ.node, created=2) for i in range(10_000)]
        operations = [CreateRoleBinding(r.subject, r.role, Scope(project_id="proj"), r.id) for r in rows]
        assert commit(storage, [Put(r) for r in rows], operations) == 2
        assert_stored(storage, [*ALL_ROWS, *rows], 2)
        assert storage.read_changes(1, 1)[0].operations == tuple(operations)
        assert commit(storage, [Remove(r) for r in rows]) == 3
        assert_stored(storage, ALL_ROWS, 3)

    # Listing bindings.

    def test_list_role_bindings_pages_by_id_bytewise(self, storage: Storage) -> None:
        """(Listings of one subject or node come from the index: test_listing.py.)"""
        seed(storage)
        w, p = WS.node, PROJ.node
        # Ids whose order differs between bytewise and locale-aware collations.
        rows = [
            binding("b-1", "user:a", w),
            binding("B2", "user:a", p),
            binding("b.3", "user:b", w),
            binding("b_4", "user:a", w, role="editor"),
            binding("a", "user:b", p),
            binding("b10", "user:a", p, role="editor"),
            binding("b9", "team:admins", w),
        ]
        commit(storage, [Put(r) for r in rows])
        everything = sorted([*rows, BINDING], key=lambda r: r.id)
        assert storage.list_role_bindings(100, None) == everything
        for limit in (1, 2, 3):
            pages: list[BindingRow] = []
            after: str | None = None
            while True:
                page = storage.list_role_bindings(limit, after)
                assert len(page) <= limit
                if not page:
                    break
                pages.extend(page)
                after = page[-1].id
            assert pages == everything

        assert storage.list_role_bindings(2, "b.3") == [r for r in everything if r.id > "b.3"][:2]
        assert storage.list_role_bindings(100, "zzz") == []
        assert storage.list_role_bindings(0, None) == []

    # Grants that expire.

    def test_expiring_rows_read_back_exactly(self, storage: Storage) -> None:
        expiring: list[Row] = [
            MemberRow("admins", "user:carol", EXPIRES),
            BindingRow("b2", "user:carol", "viewer", PROJ.node, 1, EXPIRES),
            ShareRow(WS.node, "document", "doc-2", "user:carol", frozenset({"read"}), EXPIRES + 1),
        ]
        seed(storage)
        commit(storage, [Put(row) for row in expiring])
        assert_stored(storage, [*ALL_ROWS, *expiring], 2)
        commit(storage, [Remove(row) for row in expiring])  # deleted by key, whatever the expiry
        assert_stored(storage, ALL_ROWS, 3)

    def test_a_remove_goes_by_key_whatever_the_rest_of_the_row(self, storage: Storage) -> None:
        seed(storage)
        commit(storage, [Remove(MemberRow(MEMBER.team_id, MEMBER.subject, EXPIRES)),
                         Remove(RoleRow(ROLE.name, WORKSPACE, "", ()))])
        assert_stored(storage, [row for row in ALL_ROWS if row not in (MEMBER, ROLE)], 2)

    def test_list_role_bindings_filters_what_expires_before_a_time(self, storage: Storage) -> None:
        seed(storage)
        rows = [BindingRow(f"e{i}", f"user:u{i}", "viewer", PROJ.node, 1, EXPIRES + i) for i in range(3)]
        commit(storage, [Put(row) for row in rows])
        assert storage.list_role_bindings(10, None, expires_before=EXPIRES + 1.5) == rows[:2]
        assert storage.list_role_bindings(10, "e0", expires_before=EXPIRES + 1.5) == rows[1:2]
        assert storage.list_role_bindings(10, None, expires_before=EXPIRES) == []
        assert len(storage.list_role_bindings(10, None)) == 4  # the seed's binding never expires

    # Randomised: any sequence of valid commits (and rejected ones) leaves load() equal to a model.

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        # One test function, run by each backend's class (a different `self` each).
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.differing_executors],
    )
    @given(data=st.data())
    def test_random_commits_match_a_model(self, storage: Storage, data: st.DataObject) -> None:
        # The examples share the test's database: each adds to what the earlier ones stored, with
        # names of its own (what it draws must not depend on them).
        start, earlier = load(storage)
        model = Model(prefix=f"x{start}")
        revision = start
        for _ in range(data.draw(st.integers(1, 6), label="commits")):
            saved = (dict(model.rows), model.counter)
            pending: list[Change] = []
            for _ in range(data.draw(st.integers(0, 8), label="steps")):
                draw_step(data, model, pending)
            failure = data.draw(st.sampled_from(["none", "none", "none", "missing", "stale"]), label="failure")
            if failure == "none":
                revision += 1
                storage.commit(revision, pending, record(revision, [CreateOrganization(f"op{revision}")]))
                continue
            # A rejected commit: valid changes, then one that cannot apply (or a stale revision).
            if failure == "missing":
                pending.insert(data.draw(st.integers(0, len(pending))), Remove(OrganizationRow("never-stored")))
            expected_revision = revision + 1 if failure == "missing" else revision
            with pytest.raises(ConcurrentWrite):
                storage.commit(expected_revision, pending, record(expected_revision))
            model.rows, model.counter = saved[0], saved[1]
        assert_stored(storage, [*earlier, *model.rows.values()], revision)
        assert [r.revision for r in storage.read_changes(start, 1000)] == list(range(start + 1, revision + 1))

    # Write sessions and the change records' retention.

    def test_a_write_session_holds_the_write_lock(self, make_storage: MakeStorage, storage: Storage) -> None:
        seed(storage)
        other = make_storage()
        session = storage.begin_write(5.0)
        try:
            assert session.head == 1
            with pytest.raises(Unavailable, match="write lock"):
                other.begin_write(0.1)
            session.commit([Put(OrganizationRow("o2"))], record(2))
            assert session.head == 2
        finally:
            session.close()
        later = other.begin_write(5.0)  # released by the commit
        try:
            assert later.head == 2
        finally:
            later.close()
        unused = storage.begin_write(5.0)
        unused.close()  # nothing committed: nothing changes
        assert_stored(other, [*ALL_ROWS, OrganizationRow("o2")], 2)

    def test_a_session_record_must_be_the_next_revision(self, storage: Storage) -> None:
        session = storage.begin_write(5.0)
        try:
            with pytest.raises(ValueError):
                session.commit([Put(ORG)], record(2))
        finally:
            session.close()
        assert_stored(storage, [], 0)

    def test_pruning_keeps_the_newest_records(self, storage: Storage) -> None:
        for number in range(5):
            storage.commit(number + 1, [Put(OrganizationRow(f"o{number}"))],
                           WriteRecord(number + 1, (), "t", "r", 1000.0 + number))
        assert storage.prune_changes(3, 0) == 2
        assert [r.revision for r in storage.read_changes(0, 10)] == [3, 4, 5]
        assert storage.prune_changes(0, 1003.5) == 2  # committed before it
        assert [r.revision for r in storage.read_changes(0, 10)] == [5]
        assert storage.prune_changes(0, 0) == 0
        assert storage.revision() == 5

    def test_retained_from_is_the_oldest_change_kept(self, storage: Storage) -> None:
        assert storage.retained_from() == 1  # nothing written: everything from revision 1 on is kept
        for number in range(3):
            storage.commit(number + 1, [Put(OrganizationRow(f"o{number}"))], record(number + 1))
        assert storage.retained_from() == 1
        assert storage.prune_changes(1, 0) == 2
        assert storage.retained_from() == 3
        assert [r.revision for r in storage.read_changes(0, 10)] == [3]
        storage.commit(4, [Put(OrganizationRow("o4"))], WriteRecord(4, (), "t", "r", 100.0))
        assert storage.prune_changes(0, 1e12) == 2  # every record is older than that
        assert storage.retained_from() == 5  # none kept: from the next revision on
