"""Grants that expire: bindings, shares and team memberships with an `expires_at`.

The index keeps its expiring rows in a heap by instant, and the earliest instant in
`next_at`. A request reads the clock once; only when that instant has reached `next_at` does
anything happen: the rows due are taken out of the index (in memory, at once), so that every
decision, listing and explanation of the request, and of any later one, stops counting them
exactly at their instant. They stay `pending` until the sweep removes them from storage through
the normal write path. A check before the earliest expiry pays one comparison.

The heap is lazy: a row replaced or removed by a write stays in it until it comes due and is
found not to be the index's current row any more, or until the heap is compacted."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from datetime import UTC, datetime

from authz.domain import operations as ops
from authz.domain.errors import InvalidArgument
from authz.domain.model import BindingRow, MemberRow, Node, Resource, Scope, ShareRow

NEVER = math.inf
COMPACT_FROM = 4096  # heap entries before the first compaction

ExpiringRow = BindingRow | ShareRow | MemberRow
# Who the change table names for the removal of expired grants.
ACTOR = "authz:expiry"
# The bounded `kind` label of authz_grants_expired_total.
KINDS: dict[type, str] = {BindingRow: "binding", ShareRow: "share", MemberRow: "membership"}


def shown(at: float) -> str:
    """An instant as a person reads it: ISO 8601 in UTC, to the microsecond when it has any."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds").replace("+00:00", "Z")


def check_expires_at(expires_at: float, now: float, field: str = "expires_at") -> None:
    """InvalidArgument naming `field` when `expires_at` is set and not after `now`."""
    if expires_at and expires_at <= now:
        raise InvalidArgument(f"is in the past ({shown(expires_at)}, the server's time is {shown(now)})", field)
    if expires_at and not math.isfinite(expires_at):
        raise InvalidArgument("is not a time", field)


def live(row: ExpiringRow, now: float) -> bool:
    """Does the row still count at `now`?"""
    return not row.expires_at or row.expires_at > now


def removal_operations(rows: list[ExpiringRow], scope_of: Callable[[Node], Scope]) -> list[ops.Operation]:
    """The operations the change table records for removing expired rows: what a caller
    would have sent to remove each (a share's removal is a share with no actions)."""
    recorded: list[ops.Operation] = []
    for row in rows:
        if type(row) is BindingRow:
            recorded.append(ops.DeleteRoleBinding(row.id))
        elif type(row) is ShareRow:
            resource = Resource(row.resource_type, row.resource_id)
            recorded.append(ops.SetResourceMembership(row.subject, resource, scope_of(row.node), ()))
        else:
            assert isinstance(row, MemberRow)
            recorded.append(ops.RemoveTeamMember(row.team_id, row.subject))
    return recorded


class Expiries:
    """The expiring rows of one index, by instant."""

    __slots__ = ("_compact_at", "_heap", "_order", "next_at", "pending", "taken")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, ExpiringRow]] = []
        self._order = itertools.count()
        self._compact_at = COMPACT_FROM
        self.next_at = NEVER
        # Rows taken out of the index at their instant and not yet removed from storage.
        self.pending: list[ExpiringRow] = []
        self.taken = 0  # how many rows have come due (the index changed without a revision)

    def __len__(self) -> int:
        return len(self._heap)

    def _contents(self) -> tuple:
        return sorted((at, repr(row)) for at, _, row in self._heap), self.pending

    def __eq__(self, other: object) -> bool:
        """The same entries (lazy ones included) and the same rows pending."""
        if not isinstance(other, Expiries):
            return NotImplemented
        return self._contents() == other._contents()

    __hash__ = None  # type: ignore[assignment]

    def add(self, row: ExpiringRow, current: Callable[[ExpiringRow], bool]) -> None:
        at = row.expires_at
        heapq.heappush(self._heap, (at, next(self._order), row))
        if at < self.next_at:
            self.next_at = at
        if len(self._heap) >= self._compact_at:
            self._heap = [entry for entry in self._heap if current(entry[2])]
            heapq.heapify(self._heap)
            self._compact_at = max(COMPACT_FROM, 2 * len(self._heap))
            self.next_at = self._heap[0][0] if self._heap else NEVER

    def due(self, now: float, current: Callable[[ExpiringRow], bool]) -> list[ExpiringRow]:
        """The current rows whose instant is at or before `now`, taken off the heap."""
        heap = self._heap
        rows = []
        seen: set[int] = set()
        while heap and heap[0][0] <= now:
            row = heapq.heappop(heap)[2]
            if id(row) not in seen and current(row):
                seen.add(id(row))
                rows.append(row)
        self.next_at = heap[0][0] if heap else NEVER
        self.taken += len(rows)
        return rows

    def upcoming(self, current: Callable[[ExpiringRow], bool]) -> list[ExpiringRow]:
        """The current expiring rows, soonest first (for tools and tests: O(n log n))."""
        return [row for _, _, row in sorted(self._heap) if current(row)]
