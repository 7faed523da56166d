"""Shadow evaluation: the same question decided under the active policy and a candidate, and
what a disagreement records. Pure: the runner (api/shadow.py) feeds it sampled questions off
the answer's path."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from authz.domain.model import Node

CANDIDATE_ALLOWS = "candidate_allows"  # the active policy denied, the candidate allows
CANDIDATE_DENIES = "candidate_denies"  # the active policy allowed, the candidate denies


@dataclass(frozen=True, slots=True)
class Example:
    rpc: str
    subject: str
    action: str
    resource_type: str
    resource_id: str
    node: Node
    active_allowed: bool
    candidate_allowed: bool
    active_explanation: str
    candidate_explanation: str
    at: float
    revision: int


@dataclass
class Tally:
    """Counts by RPC, and the most recent examples (at most `keep`)."""

    keep: int
    evaluated: dict[str, int] = field(default_factory=dict)
    disagreements: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: deque[Example] = field(init=False)

    def __post_init__(self) -> None:
        self.examples = deque(maxlen=self.keep)

    def count(self, rpc: str) -> None:
        self.evaluated[rpc] = self.evaluated.get(rpc, 0) + 1

    def disagree(self, rpc: str, direction: str, example: Example) -> None:
        key = (rpc, direction)
        self.disagreements[key] = self.disagreements.get(key, 0) + 1
        self.examples.append(example)


def direction(active: bool, candidate: bool) -> str | None:
    if active == candidate:
        return None
    return CANDIDATE_ALLOWS if candidate else CANDIDATE_DENIES


def listing_directions(active: tuple[bool, list[str]], candidate: tuple[bool, list[str]]) -> list[tuple[str, str]]:
    """For a ListAllowedResources answer under each policy: (direction, what differs) for each
    way the candidate's answer differs (it may both add and remove ids)."""
    (active_full, active_ids), (candidate_full, candidate_ids) = active, candidate
    if active_full and candidate_full:
        return []
    if active_full:
        return [(CANDIDATE_DENIES, f"the candidate lists only {_ids(candidate_ids)} instead of all")]
    if candidate_full:
        return [(CANDIDATE_ALLOWS, f"the candidate gives access to all instead of {_ids(active_ids)}")]
    added = sorted(set(candidate_ids) - set(active_ids))
    removed = sorted(set(active_ids) - set(candidate_ids))
    found = []
    if added:
        found.append((CANDIDATE_ALLOWS, f"the candidate adds {_ids(added)}"))
    if removed:
        found.append((CANDIDATE_DENIES, f"the candidate removes {_ids(removed)}"))
    return found


def _ids(ids: list[str], shown: int = 10) -> str:
    if not ids:
        return "no ids"
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more
