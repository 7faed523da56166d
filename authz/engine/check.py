"""Check preparation: from a check's strings to a `Question` the rules can answer.

Checks are the hot path, so preparation skips what it can without changing an answer: strings
already found valid are remembered in a `CheckMemo` (bounded, so that unknown subjects cannot
grow it; the service owns it), and a scope naming a stored node is resolved with one lookup
(scope.known_chain). Anything unusual (an invalid or unknown value, ancestors to verify)
takes the full path, which gives the same answers and the same errors."""

from __future__ import annotations

from typing import NamedTuple

from authz.domain.errors import InvalidArgument
from authz.domain.model import Node, Scope
from authz.domain.validation import check_id, check_name, check_subject

from .decide import allowed_for
from .index import Index, SubjectEntry
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


class Question(NamedTuple):
    """A valid check: the subject's index entry (None when the index does not know it), the
    strings, and the chain of its node (None when the node is unknown: the answer is no)."""

    entry: SubjectEntry | None
    subject: str
    action: str
    rtype: str
    rid: str
    chain: tuple[Node, ...] | None


def prepare(memo: CheckMemo, index: Index, subject: str, action: str, has_resource: bool, rtype: str, rid: str,
            organization: str, workspace: str, project: str) -> Question:
    """The question of a check; InvalidArgument, naming the field, for an invalid one."""
    # A subject the index knows was checked when it was written.
    entry = index.by_subject.get(subject)
    if entry is None and subject not in memo.subjects:
        check_subject(subject, "subject")
        memo.subjects.remember(subject)
    names = memo.names
    if action not in names:
        check_name(action, "action", "action")
        names.remember(action)
    if rtype not in names:
        if not has_resource:
            raise InvalidArgument("is required", "resource")
        check_name(rtype, "resource.type", "resource type")
        names.remember(rtype)
    # Letters and digits alone need no pattern; anything else is checked once.
    if rid and not (rid.isalnum() and rid.isascii() and len(rid) <= MAX_ID) and rid not in memo.ids:
        check_id(rid, "resource.id")
        memo.ids.remember(rid)
    chain = known_chain(index, organization, workspace, project)
    if chain is None:
        _, chain = resolve(index, Scope(organization, workspace, project))
    return Question(entry, subject, action, rtype, rid, chain)


def answer(index: Index, policy: Policy, question: Question) -> bool:
    """Is the prepared question allowed? (decide.allowed_for: the rules, written once.)"""
    entry, subject, action, rtype, rid, chain = question
    return chain is not None and allowed_for(index, policy, entry, subject, action, rtype, rid, chain)
