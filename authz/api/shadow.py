"""Shadow evaluation of a candidate policy on live traffic: the runner and its RPCs.

Handlers answer under the active policy as always, then offer the question (with the answer
they gave) here; a sampled question joins a bounded queue, and a task on the event loop decides
it again under the candidate, a few at a time, between requests. A full queue drops the sample
and counts it; nothing here ever delays an answer or grows without bound. A question whose
state (revision, index, policy, expired grants) moved before its turn is decided again under
the active policy first: when that answer differs from the one given, the sample is stale and
only counted. Each replica shadows only what it serves, and says which replica it is."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from authz import metrics
from authz._gen.authz.v1 import policy_pb2 as pb
from authz.domain.errors import FailedPrecondition, InvalidArgument, PolicyError
from authz.engine import shadow as engine
from authz.engine.policy import Policy
from authz.service.authorizer import View
from authz.service.reload import vet

from . import convert

log = logging.getLogger(__name__)

EVALUATE_AT_ONCE = 64  # questions decided before the task gives the loop back
LISTING = "ListAllowedResources"
DEFAULT_EXAMPLES = 20
# Queued questions a report or a stop evaluates first, so that it counts what was just asked
# (bounded: a report never stalls the event loop for long).
DRAIN_BEFORE_REPORT = 1000


@dataclass(frozen=True)
class ShadowConfig:
    queue: int = 10_000
    examples: int = 100
    replica: str = field(default_factory=socket.gethostname)


class Shadow:
    def __init__(self, authorizer, candidate: Policy, directory: str, rate: float, config: ShadowConfig,
                 on_end) -> None:
        self.authorizer = authorizer
        self.candidate_files = candidate
        self.directory = directory
        self.rate = rate
        self.config = config
        self.base = authorizer.view().file_policy
        self.active_hash = self.base.digest
        self._on_end = on_end
        self._effective_for: Policy | None = None
        self._effective: Policy | None = None
        self.effective_candidate()  # PolicyError when the stored custom roles do not fit it
        self.queue: deque = deque()
        self.tally = engine.Tally(config.examples)
        self.sampled = self.dropped = self.stale = 0
        self.started_at = time.time()
        self.ended_at = 0.0
        self.end_reason = ""
        self.running = True
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())
        metrics.SHADOW_ACTIVE.set(1)

    # ---- on the answer's path: sampling only

    def _take(self, view: View) -> bool:
        if view.file_policy is not self.base:
            self.end("the active policy was reloaded")
            return False
        if self.rate < 1.0 and random.random() >= self.rate:
            return False
        self.sampled += 1
        if len(self.queue) >= self.config.queue:
            self.dropped += 1
            metrics.SHADOW_DROPPED.labels("dropped").inc()
            return False
        return True

    def offer_check(self, rpc: str, request, allowed: bool) -> None:
        view = self.authorizer.view()
        if self._take(view):
            self.queue.append((rpc, request, allowed, view.stamp()))
            self._wake.set()

    def offer_batch(self, checks, parts, yes: bytes) -> None:
        """The items of a BatchCheck; `parts[i]` is `yes`, the denial bytes or a CheckResponse."""
        view = self.authorizer.view()
        state = None
        for check, part in zip(checks, parts, strict=True):
            if self._take(view):
                state = state or view.stamp()
                allowed = part is yes if isinstance(part, bytes) else part.allowed
                self.queue.append(("BatchCheck", check, allowed, state))
        if state is not None:
            self._wake.set()

    def offer_listing(self, request, answer: tuple[bool, list[str]]) -> None:
        view = self.authorizer.view()
        if self._take(view):
            self.queue.append((LISTING, request, answer, view.stamp()))
            self._wake.set()

    # ---- off the answer's path

    def effective_candidate(self) -> Policy:
        """The candidate with the stored custom roles, as the active policy has them."""
        view = self.authorizer.view()
        if view.policy is not self._effective_for:
            self._effective = view.with_stored_roles(self.candidate_files)
            self._effective_for = view.policy
        assert self._effective is not None
        return self._effective

    async def _run(self) -> None:
        queue = self.queue
        while self.running:
            if not queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            self.drain(EVALUATE_AT_ONCE)
            await asyncio.sleep(0)

    def drain(self, limit: int) -> None:
        """Evaluate up to `limit` queued questions now (a report first catches up, a little)."""
        queue = self.queue
        for _ in range(limit):
            if not queue or not self.running:
                return
            item = queue.popleft()
            try:
                self._evaluate(*item)
            except PolicyError as error:
                self.end(f"the candidate no longer fits the stored custom roles: {error.reason}")
            except Exception:
                log.exception("shadow evaluation of one question failed; it is skipped")

    def _evaluate(self, rpc: str, request, answer, state) -> None:
        active = self.authorizer.view()
        if active.file_policy is not self.base:
            self.end("the active policy was reloaded")
            return
        candidate = active.under(self.effective_candidate())
        moved = state != active.stamp()
        if rpc == LISTING:
            node, _chain = active.resolve(convert.scope_from_proto(request.scope))
            listed = (request.subject, request.action, request.resource_type)
            if moved and active.list_allowed_at(*listed, node) != tuple(answer):
                self._stale()
                return
            under_candidate = candidate.list_allowed_at(*listed, node)
            self._counted(rpc)
            for direction, what in engine.listing_directions(tuple(answer), under_candidate):
                active_text = f"{'all' if answer[0] else ', '.join(answer[1]) or 'nothing'} listed"
                example = engine.Example(rpc, request.subject, request.action, request.resource_type, "", node,
                                         direction == engine.CANDIDATE_DENIES, direction == engine.CANDIDATE_ALLOWS,
                                         active_text, what, time.time(), active.revision)
                self._disagree(rpc, direction, example)
            return
        node, _chain = active.resolve(convert.scope_from_proto(request.scope))
        asked = (request.subject, request.action, request.resource.type, request.resource.id)
        if moved and active.check_at(*asked, node) != answer:
            self._stale()
            return
        allowed = candidate.check_at(*asked, node)
        self._counted(rpc)
        flipped = engine.direction(answer, allowed)
        if flipped is not None:
            example = engine.Example(rpc, *asked, node, answer, allowed, active.explain_at(*asked, node).text,
                                     candidate.explain_at(*asked, node).text, time.time(), active.revision)
            self._disagree(rpc, flipped, example)

    def _counted(self, rpc: str) -> None:
        self.tally.count(rpc)
        metrics.SHADOW_EVALUATIONS.labels(rpc).inc()

    def _disagree(self, rpc: str, direction: str, example: engine.Example) -> None:
        self.tally.disagree(rpc, direction, example)
        metrics.SHADOW_DISAGREEMENTS.labels(rpc, direction).inc()

    def _stale(self) -> None:
        self.stale += 1
        metrics.SHADOW_DROPPED.labels("stale").inc()

    def end(self, reason: str) -> None:
        if not self.running:
            return
        self.running = False
        self.ended_at = time.time()
        self.end_reason = reason
        self.queue.clear()
        self._wake.set()
        self._task.cancel()
        metrics.SHADOW_ACTIVE.set(0)
        log.info("shadow of %s ended: %s", self.directory, reason)
        self._on_end(self)

    def refresh(self) -> None:
        """End the shadow now if the active policy has been reloaded since it started."""
        if self.running and self.authorizer.view().file_policy is not self.base:
            self.end("the active policy was reloaded")


# ---- the RPCs


def _sample_rate(request: pb.StartShadowRequest) -> float:
    rate = request.sample_rate
    if not math.isfinite(rate) or not 0 <= rate <= 1:
        raise InvalidArgument("must be in (0, 1] (0 means 1)", "sample_rate")
    return rate or 1.0


async def start(backend, request: pb.StartShadowRequest, path: Path) -> pb.StartShadowResponse:
    """`path`: the candidate directory, checked as DiffPolicy checks it."""
    directory = request.candidate_directory
    rate = _sample_rate(request)
    authorizer = backend.authorizer
    # The rule of a reload: valid, and its own test suites pass (FailedPrecondition says why).
    candidate = await asyncio.to_thread(vet, path)
    if backend.shadow is not None:
        backend.shadow.end("replaced by a new shadow")

    def ended(shadow: Shadow) -> None:
        if backend.shadow is shadow:
            backend.shadow = None

    try:
        shadow = Shadow(authorizer, candidate, directory, rate, backend.shadow_config, ended)
    except PolicyError as error:
        raise FailedPrecondition(f"the candidate does not fit the stored custom roles: {error.reason}") from None
    backend.shadow = backend.last_shadow = shadow
    dropped = [pb.RoleInUse(role=stale.role, binding_count=len(stale.binding_ids), change=stale.change)
               for stale in authorizer.view().stale_roles(shadow.effective_candidate())]
    warnings = [
        f"the candidate drops role {r.role}, which {_bindings_use(r.binding_count)}: under it they grant nothing"
        if r.change == "dropped" else f"the candidate {r.change} role {r.role}, which {_bindings_use(r.binding_count)}"
        for r in dropped
    ]
    for warning in warnings:
        log.warning("shadow of %s: %s", directory, warning)
    return pb.StartShadowResponse(candidate_hash=candidate.digest, sample_rate=rate, dropped_roles=dropped,
                                  warnings=warnings, replica=backend.shadow_config.replica)


def _bindings_use(number: int) -> str:
    return "1 binding uses" if number == 1 else f"{number} bindings use"


def stop(backend) -> pb.ShadowReport:
    shadow = backend.shadow
    if shadow is None:
        raise FailedPrecondition("no shadow is running")
    shadow.drain(DRAIN_BEFORE_REPORT)
    shadow.end("stopped")
    return report_to_proto(shadow, DEFAULT_EXAMPLES, backend)


def report(backend, request: pb.GetShadowReportRequest) -> pb.ShadowReport:
    shadow = backend.last_shadow
    if shadow is None:
        return pb.ShadowReport(replica=backend.shadow_config.replica)
    shadow.refresh()
    shadow.drain(DRAIN_BEFORE_REPORT)
    return report_to_proto(shadow, request.max_examples or DEFAULT_EXAMPLES, backend)


def report_to_proto(shadow: Shadow, max_examples: int, backend) -> pb.ShadowReport:
    message = pb.ShadowReport(
        running=shadow.running, candidate_hash=shadow.candidate_files.digest, candidate_directory=shadow.directory,
        active_hash=shadow.active_hash, sample_rate=shadow.rate, replica=shadow.config.replica,
        end_reason=shadow.end_reason, sampled=shadow.sampled, evaluated=sum(shadow.tally.evaluated.values()),
        dropped=shadow.dropped, stale=shadow.stale, examples_kept=len(shadow.tally.examples),
    )
    convert.set_time(message, "started_at", shadow.started_at)
    convert.set_time(message, "ended_at", shadow.ended_at)
    tally = shadow.tally
    for rpc in metrics.SHADOW_RPCS:
        evaluated = tally.evaluated.get(rpc, 0)
        if evaluated:
            message.disagreements.add(
                rpc=rpc, evaluated=evaluated,
                candidate_allows=tally.disagreements.get((rpc, engine.CANDIDATE_ALLOWS), 0),
                candidate_denies=tally.disagreements.get((rpc, engine.CANDIDATE_DENIES), 0),
            )
    view = shadow.authorizer.view()
    for example in list(reversed(tally.examples))[:max_examples]:
        entry = message.examples.add(
            rpc=example.rpc, subject=example.subject, action=example.action,
            active_allowed=example.active_allowed, candidate_allowed=example.candidate_allowed,
            active_explanation=example.active_explanation, candidate_explanation=example.candidate_explanation,
            revision=example.revision,
        )
        entry.resource.type, entry.resource.id = example.resource_type, example.resource_id
        scope = view.known_scope(example.node)
        if scope is not None:
            entry.scope.CopyFrom(convert.scope_to_proto(scope))
        convert.set_time(entry, "at", example.at)
    return message

