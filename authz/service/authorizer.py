"""The Authorizer: one engine index, one storage, one revision.

Decisions run on the event loop straight from the index. A write plans against the index,
commits through storage on a worker thread, and only then applies its changes to the index,
in one step of the event loop: no check ever sees half a write, nor one not yet durable."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TypeVar

from authz import metrics
from authz.domain import operations as ops
from authz.domain.errors import FailedPrecondition, RevisionNotReached, Unavailable
from authz.domain.model import BindingRow, Change, Node, Remove, Resource, RoleRow, Scope, ShareRow
from authz.domain.wording import agree, count
from authz.engine import decide, expiry, explain, lookup
from authz.engine.check import CheckMemo, Row, answer, answer_all
from authz.engine.diff import Diff, StaleRole, diff_operations, diff_policy, stale_roles
from authz.engine.explain import Decision
from authz.engine.index import Index
from authz.engine.plan import Planner
from authz.engine.policy import Policy, Role
from authz.engine.scope import resolve, scope_of
from authz.storage.base import Storage, WriteSession

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a write without a deadline waits for other writers to let go of the database.
DEFAULT_WRITE_TIMEOUT = 30.0
# Change records a follower reads per query.
FOLLOW_BATCH = 500

# Writes of at least this many operations run with the cyclic garbage collector paused (and
# freeze what they made; see collector_paused).
PAUSE_COLLECTOR_FROM_OPERATIONS = 1000


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """The cyclic garbage collector off for the block (if `pause`), and what the block made
    frozen before it is back on. Loading or importing makes millions of index objects that
    hold no cycles; the collector would walk them again and again (measured: a quarter of an
    Import's time) and find nothing, and its first pass after the block would walk them all
    at once (2.5 s after loading a million bindings)."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@dataclass(frozen=True)
class Written:
    """What a write did: the revision it is visible at, the operations as recorded (with
    server-chosen binding ids) and the row changes committed (empty when nothing changed)."""

    revision: int
    recorded: list[ops.Operation]
    changes: list[Change] = field(default_factory=list)

    def put(self, row_type: type[T], key: Callable[[T], bool]) -> T:
        """The row of `row_type` the write put that `key` accepts: a create's own row, which the
        planner always puts (a duplicate is AlreadyExists before anything is written)."""
        for change in self.changes:
            if type(change) is not Remove and type(change.row) is row_type and key(change.row):
                return change.row
        raise LookupError(f"the write put no {row_type.__name__} it was asked for")

    def removed(self, row_type: type) -> int:
        """How many rows of `row_type` the write removed (a role's bindings under force...)."""
        return sum(1 for change in self.changes if type(change) is Remove and type(change.row) is row_type)


def operation_counts(recorded: Sequence[ops.Operation], changes: Sequence[Change]) -> dict[str, int]:
    """The write operations a commit counts, by name: each recorded operation, and each binding
    a forced custom-role write removed (a forced reload records those as delete_role_binding)."""
    counts: dict[str, int] = {}
    for operation in recorded:
        name = ops.OPERATION_NAMES[type(operation)]
        counts[name] = counts.get(name, 0) + 1
    if any(isinstance(op, (ops.UpdateCustomRole, ops.DeleteCustomRole)) for op in recorded):
        removed = sum(1 for c in changes if type(c) is Remove and type(c.row) is BindingRow)
        if removed:
            name = ops.OPERATION_NAMES[ops.DeleteRoleBinding]
            counts[name] = counts.get(name, 0) + removed
    return counts


def load_index(storage: Storage) -> tuple[Index, int]:
    """The index of everything stored, and its revision. The index is frozen out of the cyclic
    collector's way (collector_paused): walking its millions of long-lived objects again and
    again would be the checks' p99. New objects are still collected."""
    index = Index()
    with collector_paused():
        revision = storage.load(index.load_rows)
    return index, revision


class View:
    """One request's read of the state: the index, the policy and the revision as they were
    when it was taken. Handlers read through it and never hold the index or the policy; as
    long as a handler does not await between taking it and answering, no write moves it."""

    __slots__ = ("file_policy", "index", "memo", "policy", "revision")

    def __init__(self, index: Index, policy: Policy, revision: int, memo: CheckMemo,
                 file_policy: Policy | None = None) -> None:
        self.index = index
        self.policy = policy
        self.revision = revision
        self.memo = memo
        self.file_policy = policy if file_policy is None else file_policy  # the policy of the files

    def under(self, policy: Policy) -> View:
        """The same index and revision decided under another policy (a shadow's candidate)."""
        return View(self.index, policy, self.revision, self.memo, self.file_policy)

    def stamp(self) -> tuple:
        """What the answers of this view depend on: a question asked again under a view with
        an equal stamp is answered the same (the index object changes in place, so the count
        of grants expired out of it is part of it)."""
        return self.revision, self.index, self.policy, self.index.expiries.taken

    # ---- checks

    def allowed(self, row: Row) -> bool:
        """A check validated (InvalidArgument naming the field) and answered (engine/check.py)."""
        return answer(self.memo, self.index, self.policy, row)

    def answer_all(self, rows: Iterable[Row], answers: list, yes: object, no: object) -> int:
        """`allowed` of each row in turn, appending `yes` or `no` to `answers`; how many were allowed."""
        return answer_all(self.memo, self.index, self.policy, rows, answers, yes, no)

    def check(self, subject: str, action: str, resource: Resource, scope: Scope) -> bool:
        """A whole check: prepared and answered as Check does."""
        return self.allowed((subject, action, True, resource.type, resource.id, scope.organization_id,
                             scope.workspace_id, scope.project_id))

    def check_at(self, subject: str, action: str, rtype: str, rid: str, node: Node) -> bool:
        """A check at a node already resolved (denied at an unknown node)."""
        return decide.check(self.index, self.policy, subject, action, rtype, rid, node)

    def explain(self, subject: str, action: str, resource: Resource, scope: Scope) -> Decision:
        node, _ = resolve(self.index, scope)
        return self.explain_at(subject, action, resource.type, resource.id, node)

    def explain_at(self, subject: str, action: str, rtype: str, rid: str, node: Node) -> Decision:
        return explain.explain(self.index, self.policy, subject, action, rtype, rid, node)

    # ---- the hierarchy

    def resolve(self, scope: Scope, field: str = "scope") -> tuple[Node, tuple[Node, ...] | None]:
        """The node a scope names and its chain (None: not stored); InvalidArgument naming the
        field for ids that are invalid or disagree with the stored hierarchy."""
        return resolve(self.index, scope, field)

    def scope_of(self, node: Node) -> Scope:
        return scope_of(self.index, node)

    def known_scope(self, node: Node) -> Scope | None:
        """The full scope of `node`, or None once it is no longer stored."""
        return None if self.index.chain(node) is None else scope_of(self.index, node)

    # ---- listings

    def list_allowed(self, subject: str, action: str, resource_type: str, scope: Scope) -> tuple[bool, list[str]]:
        node, _ = resolve(self.index, scope)
        return self.list_allowed_at(subject, action, resource_type, node)

    def list_allowed_at(self, subject: str, action: str, resource_type: str, node: Node) -> tuple[bool, list[str]]:
        return decide.list_allowed(self.index, self.policy, subject, action, resource_type, node)

    def list_subjects(self, action: str, resource: Resource, scope: Scope, after: str,
                      limit: int) -> tuple[list[lookup.Allowed], bool]:
        """A page of the subjects allowed (see lookup.subjects_page); none at an unknown node."""
        _, chain = resolve(self.index, scope)
        if chain is None:
            return [], False
        return lookup.subjects_page(self.index, self.policy, action, resource.type, resource.id, chain[0], after,
                                    limit)

    def subject_access(self, subject: str, organization: str) -> list[lookup.AccessRow]:
        return lookup.subject_access(self.index, subject, organization)

    def organization_access(self, organization: str, position: int, offset: int,
                            limit: int) -> tuple[list[lookup.AccessRow], tuple[int, int] | None]:
        return lookup.organization_access_page(self.index, organization, position, offset, limit)

    def member_expiry(self, team_id: str, subject: str) -> float:
        """When `subject`'s membership of the team stops counting (0.0: never)."""
        return self.index.member_row(team_id, subject).expires_at

    def bindings_page(self, subject: str | None, node: Node | None, limit: int, after_id: str | None,
                      expires_before: float = 0.0) -> list[BindingRow]:
        """Bindings of a subject and/or on a node, by id (Index.bindings_page)."""
        return self.index.bindings_page(subject, node, limit, after_id, expires_before)

    def shares_page(self, subject: str | None, node: Node | None, resource_type: str | None,
                    resource_id: str | None, limit: int, after: tuple[str, ...] | None) -> list[ShareRow]:
        """Shares matching every filter given, in key order (Index.shares_page)."""
        return self.index.shares_page(subject, node, resource_type, resource_id, limit, after)

    # ---- the policy

    def roles(self) -> list[tuple[Role, int]]:
        """Every role of the active policy with how many bindings use it, by level, files' roles
        before custom ones, then name."""
        by_role = self.index.bindings_by_role
        roles = sorted(self.policy.roles.values(), key=lambda r: (r.level, r.custom, r.name))
        return [(role, len(by_role.get(role.name, ()))) for role in roles]

    def with_stored_roles(self, files: Policy) -> Policy:
        """A policy of files plus the stored custom roles (PolicyError if they do not fit)."""
        return files.with_stored_roles(self.index)

    def stale_roles(self, candidate: Policy) -> list[StaleRole]:
        """The roles stored bindings use that `candidate` (with the custom roles) drops or re-levels."""
        return stale_roles(self.index, self.policy, candidate)

    def diff_policy(self, candidate: Policy) -> Diff:
        """The flips of making `candidate` (a policy of files) active, with the stored custom
        roles. Seconds over a million bindings: run it through Authorizer.read_off_loop."""
        return diff_policy(self.index, self.policy, self.with_stored_roles(candidate))

    def diff_operations(self, operations: Sequence[ops.Operation]) -> Diff:
        """The flips of applying `operations` (planned, applied to the index for a moment and
        undone: on the event loop, so that no check on another thread sees them)."""
        return diff_operations(self.index, self.policy, operations)


class Authorizer:
    def __init__(self, storage: Storage, policy: Policy, index: Index, revision: int,
                 clock: Callable[[], float] = time.time, write_timeout: float = DEFAULT_WRITE_TIMEOUT) -> None:
        """`policy` is the policy of the files; the active one adds the stored custom roles
        (PolicyError when they do not fit it). `clock` gives unix seconds (tests pass a fake).
        `write_timeout`: how long a write without a deadline waits for other writers."""
        self.clock = clock
        self.storage = storage
        self.file_policy = policy
        self.policy = policy.with_stored_roles(index)
        self.index = index
        self.revision = revision
        self.planner = Planner(index, self.policy)
        # Every change to the index (a write, the follower, a reload) happens under this lock;
        # writes also hold the database's write lock (a WriteSession) while they plan and commit.
        self._write_lock = asyncio.Lock()
        self._advanced = asyncio.Event()
        self._wake = asyncio.Event()  # the follower: look for new commits now
        self._loop: asyncio.AbstractEventLoop | None = None  # the follower's, for wake()
        self.write_timeout = write_timeout
        self._db = ThreadPoolExecutor(max_workers=2, thread_name_prefix="authz-db")
        # A write session's calls, all on one thread (a SQLite connection stays on its thread).
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="authz-writer")
        # How many reads of the whole index run on a worker thread (read_off_loop): expired
        # grants wait to leave the index until they are done, since nothing may change it under
        # them. (A DiffPolicy, seconds long, is the only such read.)
        self._reading_off_loop = 0
        self.memo = CheckMemo()  # validity of strings: the same under every policy and index

    # ---- the instant of a request (grants that expire; see engine/expiry.py)

    def now(self) -> float:
        """Read the clock once for a request: grants expired by then leave the index first, so
        that everything the request decides or lists counts exactly the grants live at it."""
        now = self.clock()
        if now >= self.index.expiries.next_at and not self._reading_off_loop:
            expired = self.index.expire(now)
            if expired:
                log.info("%d expired %s left the index; the sweep removes %s from storage", len(expired),
                         "grant" if len(expired) == 1 else "grants", "it" if len(expired) == 1 else "them")
        return now

    async def remove_expired(self) -> int:
        """Remove from storage, through the write path (a revision and a change record), the
        grants that have expired; how many. Another replica may have removed some first: the
        catch-up under the database's lock takes those off `pending`."""
        async with self._write_lock:
            self.now()
            if not self.index.expiries.pending:
                return 0
            session = await self._begin(self.write_timeout)
            try:
                return await self._commit_expired(session)
            finally:
                await self._close(session)

    async def _commit_expired(self, session: WriteSession) -> int:
        """Under both locks, with the index at the database's head: commit the removal of the
        grants taken out of the index at their instant (so that storage agrees with the index
        before anything is planned). The session is spent when this returns rows."""
        index = self.index
        pending = index.expiries.pending
        if not pending:
            return 0
        rows = list(pending)
        recorded = expiry.removal_operations(rows, lambda node: scope_of(index, node))
        changes = [Remove(row) for row in rows]
        await self._commit(session, changes, recorded, expiry.ACTOR, "", in_index=True)
        del pending[:len(rows)]
        for row in rows:
            metrics.GRANTS_EXPIRED.labels(expiry.KINDS[type(row)]).inc()
        return len(rows)

    def view(self) -> View:
        """The state as it is now, for one request."""
        return View(self.index, self.policy, self.revision, self.memo, self.file_policy)

    async def wait_for(self, revision: int, timeout: float | None, field: str = "at_least_revision") -> None:
        """Return once the index has reached `revision`, else RevisionNotReached (naming `field`)
        after `timeout`. A revision this replica lacks wakes the follower at once."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.revision < revision:
            self._wake.set()
        while self.revision < revision:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise RevisionNotReached(
                    f"revision {revision} not reached before the deadline (the server is at {self.revision})",
                    field,
                )
            try:
                await asyncio.wait_for(self._advanced.wait(), remaining)
            except TimeoutError:
                continue

    # ---- writes (see docs/architecture.md, "The path of a write")

    async def write(
        self, operations: Sequence[ops.Operation], actor: str, request_id: str, field_prefix: str | None = None,
        timeout: float | None = None,
    ) -> Written:
        """Apply operations atomically, waiting up to `timeout` seconds (the request's deadline;
        default write_timeout) for other writers. The result carries the changes as planned
        under the locks: what a caller reports (bindings removed...) is counted from them, never
        from the index before or after, which other writes may have moved. Shielded: a caller
        that goes away does not cut a write short between the database and the index."""
        return await asyncio.shield(self._write(operations, actor, request_id, field_prefix,
                                                timeout or self.write_timeout))

    async def _write(self, operations: Sequence[ops.Operation], actor: str, request_id: str,
                     field_prefix: str | None, timeout: float) -> Written:
        async with self._write_lock:
            session = await self._begin_flushed(timeout)
            try:
                revision = session.head + 1
                with collector_paused(len(operations) >= PAUSE_COLLECTOR_FROM_OPERATIONS):
                    changes, recorded = self.planner.plan_all(operations, revision, field_prefix)
                    if not changes:
                        return Written(self.revision, recorded)
                    await self._commit(session, changes, recorded, actor, request_id)
                return Written(revision, recorded, changes)
            finally:
                await self._close(session)

    async def _begin(self, timeout: float) -> WriteSession:
        """Under the write lock: the database's write lock, and the index brought to its head
        (the commits of other replicas applied), so that planning sees every earlier write."""
        loop = asyncio.get_running_loop()
        try:
            session = await loop.run_in_executor(self._writer, self.storage.begin_write, timeout)
        except Unavailable as error:
            log.warning("a write is refused: %s", error.reason)
            raise
        try:
            if session.head != self.revision:
                await self._catch_up_to(session.head)
        except BaseException:
            await self._close(session)
            raise
        return session

    async def _begin_flushed(self, timeout: float) -> WriteSession:
        """_begin, with the planner's instant read and no expired grant left pending: those are
        committed first, each such commit in a session of its own."""
        deadline = time.monotonic() + timeout
        while True:
            session = await self._begin(max(0.001, deadline - time.monotonic()))
            self.planner.now = self.now()
            if not self.index.expiries.pending:
                return session
            try:
                await self._commit_expired(session)
            finally:
                await self._close(session)

    async def _close(self, session: WriteSession) -> None:
        await asyncio.get_running_loop().run_in_executor(self._writer, session.close)

    async def _commit(self, session: WriteSession, changes: Sequence[Change], recorded: Sequence[ops.Operation],
                      actor: str, request_id: str, policy: Policy | None = None, in_index: bool = False) -> None:
        """Commit planned changes as revision head + 1, then apply them to the index (and swap in
        `policy`, or the policy with changed custom roles) in one step of the event loop.
        `in_index`: the index has them already (expired grants, taken out at their instant).
        A commit that fails leaves the index as it was: if it landed after all (a connection
        lost at COMMIT), the next catch-up applies it from the change table like any other."""
        revision = session.head + 1
        record = ops.WriteRecord(revision, tuple(recorded), actor, request_id, time.time())
        await asyncio.get_running_loop().run_in_executor(self._writer, session.commit, changes, record)
        for name, done in operation_counts(recorded, changes).items():
            metrics.WRITES.labels(name).inc(done)
        if not in_index:
            self.index.apply_all(changes)
        if policy is not None:
            self.file_policy = policy
        if policy is not None or any(isinstance(change.row, RoleRow) for change in changes):
            self._use_policy(self.file_policy.with_stored_roles(self.index))
        self._advance(revision)

    def _use_policy(self, policy: Policy) -> None:
        self.policy = policy
        self.planner = Planner(self.index, policy)

    async def replace_policy(self, candidate: Policy, force: bool, actor: str, request_id: str) -> tuple[int, int]:
        """Make `candidate` (a policy of files) the active policy, atomically. Roles it drops or
        re-levels while bindings use them refuse it (FailedPrecondition naming them), unless
        `force`, which removes those bindings in the same revision. Returns (revision, bindings
        removed)."""
        async with self._write_lock:
            session = await self._begin_flushed(self.write_timeout)
            try:
                return await self._replace_policy(session, candidate, force, actor, request_id)
            finally:
                await self._close(session)

    async def _replace_policy(self, session: WriteSession, candidate: Policy, force: bool, actor: str,
                              request_id: str) -> tuple[int, int]:
        effective = candidate.with_stored_roles(self.index)
        stale = [(s.role, s.binding_ids, s.verb) for s in stale_roles(self.index, self.policy, effective)]
        if stale and not force:
            named = "; ".join(f"it {what} role {role!r}, which {count(len(ids), 'binding')}"
                              f" {agree(len(ids), 'uses', 'use')}" for role, ids, what in stale)
            raise FailedPrecondition(f"{named} (a forced reload removes them)")
        removals = [ops.DeleteRoleBinding(binding_id) for _, ids, _ in stale for binding_id in sorted(ids)]
        if not removals:
            self.file_policy = candidate
            self._use_policy(effective)
            return self.revision, 0
        revision = session.head + 1
        changes, recorded = self.planner.plan_all(removals, revision)
        await self._commit(session, changes, recorded, actor, request_id, policy=candidate)
        return revision, len(removals)

    # ---- following the change table (other replicas' commits)

    def wake(self) -> None:
        """Ask the follower to look for new commits now (thread-safe: the listener calls it)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def follow(self, poll_seconds: float) -> None:
        """Apply the commits of other replicas, in revision order, forever: at each wake (a
        NOTIFY, a request waiting for a revision this replica lacks) and every `poll_seconds`.
        A database that cannot be reached is counted (authz_follow_errors_total) and tried
        again; checks go on from the index meanwhile."""
        self._loop = asyncio.get_running_loop()
        failing = False
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll_seconds)
            self._wake.clear()
            try:
                await self.catch_up()
            except Exception as error:  # noqa: BLE001 -- whatever it was, the next round tries again
                metrics.FOLLOW_ERRORS.inc()
                if not failing:
                    reason = getattr(error, "reason", None) or str(error) or type(error).__name__
                    log.warning("cannot follow the change table: %s; checks go on at revision %d", reason,
                                self.revision)
                failing = True
                continue
            if failing:
                log.info("following the change table again, at revision %d", self.revision)
            failing = False

    async def catch_up(self) -> int:
        """Bring the index to the database's head; the revision reached."""
        loop = asyncio.get_running_loop()
        head = await loop.run_in_executor(self._db, self.storage.revision)
        if head > self.revision:
            async with self._write_lock:
                await self._catch_up_to(head)
        return self.revision

    async def consistent_revision(self, timeout: float | None) -> int:
        """For a fully consistent read: the database's head revision, once the index has reached
        it (Unavailable when the database cannot be reached)."""
        head = await asyncio.get_running_loop().run_in_executor(self._db, self.storage.revision)
        await self.wait_for(head, timeout, "fully_consistent")
        return head

    async def _catch_up_to(self, head: int) -> None:
        """Under the write lock: apply the change records up to `head`, in order. Records older
        than migration 0005 (no row changes) or a gap (pruned records) load a snapshot instead."""
        loop = asyncio.get_running_loop()
        while self.revision < head:
            records = await loop.run_in_executor(self._db, self.storage.read_changes, self.revision, FOLLOW_BATCH)
            if not records or records[0].revision != self.revision + 1:
                oldest = f"the oldest kept is {records[0].revision}" if records else "none is kept"
                await self._reload(f"the change records after revision {self.revision} are gone ({oldest})")
                return
            for record in records:
                if record.changes is None:
                    await self._reload(f"change record {record.revision} predates row changes (migration 0005)")
                    return
                self._apply_followed(record)
                metrics.CHANGES_APPLIED.inc()
                await asyncio.sleep(0)  # checks between records: each record is one step

    def _apply_followed(self, record: ops.WriteRecord) -> None:
        changes = record.changes or ()
        with collector_paused(len(changes) >= PAUSE_COLLECTOR_FROM_OPERATIONS):
            self.index.apply_followed(changes)
        if any(type(change.row) is RoleRow for change in changes):
            self._use_policy(self.file_policy.with_stored_roles(self.index))
        self._advance(record.revision)

    async def _reload(self, why: str) -> None:
        """Replace the index by a snapshot of the database (under the write lock)."""
        loop = asyncio.get_running_loop()
        log.warning("%s: loading a full snapshot of the database", why)
        started = time.perf_counter()
        index, revision = await loop.run_in_executor(self._db, load_index, self.storage)
        self.index = index
        self._use_policy(self.file_policy.with_stored_roles(index))
        metrics.SNAPSHOT_RELOADS.inc()
        log.warning("index reloaded from the database at revision %d in %.2fs", revision,
                    time.perf_counter() - started)
        self._advance(max(revision, self.revision))

    def _advance(self, revision: int) -> None:
        self.revision = revision
        self._advanced.set()
        self._advanced = asyncio.Event()

    async def read_off_loop(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` on a worker thread while writes wait: nothing changes the index under
        it, and checks go on answering meanwhile. For long reads of the whole index (a policy
        diff over a million bindings takes seconds), which would otherwise stall every check."""
        async with self._write_lock:
            self._reading_off_loop += 1
            try:
                return await asyncio.to_thread(work, *args)
            finally:
                self._reading_off_loop -= 1

    async def describe(self) -> tuple[int, str]:
        """(revision, the index's digest), read off the event loop with writes held off."""
        return await self.read_off_loop(lambda: (self.revision, self.index.digest()))

    # ---- reads from storage

    async def list_role_bindings(
        self, subject: str | None, node: Node | None, limit: int, after_id: str | None, expires_before: float = 0.0
    ) -> tuple[list[BindingRow], int]:
        """Up to `limit` bindings by id after `after_id`, and the revision they were read at: of
        a subject and/or on a node from the index (without a query), all of them from the
        database, with writes held off meanwhile, so that the rows are those of the index's
        revision (a write committed but not yet applied would make them newer than it).
        `expires_before`: only those expiring before it. Grants the request's instant took out
        of the index leave storage first, so that the database's rows are the index's."""
        if subject is not None or node is not None:
            return self.index.bindings_page(subject, node, limit, after_id, expires_before), self.revision
        loop = asyncio.get_running_loop()
        async with self._write_lock:
            self.now()
            if self.index.expiries.pending:
                session = await self._begin_flushed(self.write_timeout)
                await self._close(session)
            rows = await loop.run_in_executor(self._db, self.storage.list_role_bindings, limit, after_id,
                                              expires_before)
            return rows, self.revision

    async def read_changes(self, after: int, limit: int) -> list[ops.WriteRecord]:
        """Up to `limit` change records after revision `after`, from the database (so those of
        other replicas too), on a thread of the default pool: the feed never queues behind
        this replica's commits."""
        return await asyncio.to_thread(self.storage.read_changes, after, limit)

    async def retained_from(self) -> int:
        """The oldest revision from which the database still keeps every change record."""
        return await asyncio.to_thread(self.storage.retained_from)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._db.shutdown(wait=True)
        self.storage.close()
