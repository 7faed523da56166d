"""Checks from their strings to their answers: validation, the scope's chain, then the rules (decide.py).

Checks are the hot path, so preparation skips what it can without changing an answer: strings
already found valid are remembered in a `CheckMemo` (bounded, so that unknown subjects cannot
grow it; the service owns it), a scope naming a stored node is resolved with one lookup
(scope.known_chain), and in a batch what the previous check found is not looked up again.
Anything unusual (an invalid or unknown value, ancestors to verify) takes the full path, which gives the same answers and the same errors."""

from __future__ import annotations

from collections.abc import Iterable

from authz.domain.errors import InvalidArgument
from authz.domain.model import Node, Scope
from authz.domain.validation import check_id, check_name, check_subject

from .decide import allowed_beyond_roles, allowed_for, held_roles
from .index import Index
from .policy import Policy
from .scope import known_chain, resolve

MAX_ID = 128  # the longest id validation.ID_PATTERN accepts


class Seen(dict):
    """Strings found valid, at most `limit` of them: when full it starts over."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, value: str) -> None:
        if len(self) >= self.limit:
            self.clear()
        self[value] = None


class CheckMemo:
    """The validation memo: subjects, names (actions and resource types share the syntax) and
    resource ids found valid. Validity does not depend on the policy or the index, so one memo
    serves the service's whole life."""

    __slots__ = ("ids", "names", "subjects")

    def __init__(self) -> None:
        self.subjects = Seen(1 << 16)
        self.names = Seen(1 << 12)
        self.ids = Seen(1 << 16)


# One check's strings, as the API reads them from a request: subject, action, whether a resource
# was given, resource type, resource id, organization, workspace and project ids.
Row = tuple[str, str, bool, str, str, str, str, str]


def answer_all(memo: CheckMemo, index: Index, policy: Policy, rows: Iterable[Row], answers: list,
               yes: object = True, no: object = False) -> int:
    """Validate and answer each row in order, appending `yes` or `no` to `answers`; how many were
    allowed. The one path of Check and BatchCheck: an invalid row raises InvalidArgument naming
    the field, after the answers of the rows before it (so `len(answers)` is its position).

    Strings equal to the previous row's are not looked up again: a batch from one client names
    one subject and one scope, whose index entry, validity and chain it finds once, and from
    the second row of such a run on, the roles the subject holds on the chain (held_roles), so
    that rule 1 is one set operation per row. Rows are decided one after the other in this one
    call, so the index cannot change between them."""
    by_subject = index.by_subject
    subjects = memo.subjects
    names = memo.names
    granting = policy.granting
    add = answers.append
    granted = 0
    subject_seen = action_seen = rtype_seen = None
    entry = None
    scope_seen: tuple[str, str, str] | None = None
    chain: tuple[Node, ...] | None = None
    # The roles held on `chain` by the run's subject: None until a row repeats its subject and scope.
    held: frozenset[str] | None = None
    for subject, action, has_resource, rtype, rid, organization, workspace, project in rows:
        repeated = True  # the same subject and scope as the previous row
        # A subject the index knows was checked when it was written.
        if subject != subject_seen:
            entry = by_subject.get(subject)
            if entry is None and subject not in subjects:
                check_subject(subject, "subject")
                subjects.remember(subject)
            subject_seen = subject
            repeated = False
        if action != action_seen:
            if action not in names:
                check_name(action, "action", "action")
                names.remember(action)
            action_seen = action
        if rtype != rtype_seen:
            if rtype not in names:
                if not has_resource:
                    raise InvalidArgument("is required", "resource")
                check_name(rtype, "resource.type", "resource type")
                names.remember(rtype)
            rtype_seen = rtype
        # Letters and digits alone need no pattern; anything else is checked once.
        if rid and not (rid.isalnum() and rid.isascii() and len(rid) <= MAX_ID) and rid not in memo.ids:
            check_id(rid, "resource.id")
            memo.ids.remember(rid)
        if scope_seen is None or project != scope_seen[2] or workspace != scope_seen[1] \
                or organization != scope_seen[0]:
            chain = known_chain(index, organization, workspace, project)
            if chain is None:
                _, chain = resolve(index, Scope(organization, workspace, project))
            scope_seen = (organization, workspace, project)
            repeated = False
        if not repeated:
            held = None
        if chain is None or entry is None:
            add(no)
            continue
        if held is None and repeated:
            held = held_roles(index, entry, chain)
        if held is None:
            allowed = allowed_for(index, policy, entry, subject, action, rtype, rid, chain)
        else:
            allowed = not granting(rtype, action).isdisjoint(held) or (
                bool(rid) and allowed_beyond_roles(index, entry, action, rtype, rid, chain))
        if allowed:
            add(yes)
            granted += 1
        else:
            add(no)
    return granted


def answer(memo: CheckMemo, index: Index, policy: Policy, row: Row) -> bool:
    """One check validated (InvalidArgument naming the field) and answered (answer_all)."""
    answers: list[bool] = []
    return answer_all(memo, index, policy, (row,), answers) == 1
