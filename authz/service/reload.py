"""Hot reload of the policy directory that cannot break production.

A candidate is validated and its test suites are run first; if either fails, or it would
drop or re-level a role that stored bindings use (unless forced), the running policy stays in
force and the reason is logged and returned. A good candidate replaces the policy in one step
of the event loop, so no check sees half of each. Triggers: a change of the files (polled),
SIGHUP, and PolicyService.Reload."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from authz import metrics
from authz.domain.errors import AuthzError, FailedPrecondition, PolicyError, Unavailable
from authz.domain.wording import agree, count
from authz.engine.policy import Policy
from authz.engine.policy_files import check_policy_dir, policy_digest, watched_digest
from authz.engine.policy_tests import run_suites
from authz.service.authorizer import Authorizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    changed: bool
    digest: str
    revision: int
    removed_bindings: int
    message: str


def publish(policy: Policy) -> None:
    metrics.publish_policy(policy.digest, str(policy.directory))
    metrics.POLICY_LOADED.set(policy.loaded_at)


def vet(directory: Path) -> Policy:
    """The candidate policy of `directory` if it is valid and passes its own test suites;
    else FailedPrecondition saying why."""
    candidate, problems = check_policy_dir(directory)
    if candidate is None:
        listed = "; ".join(str(problem) for problem in problems[:20])
        raise FailedPrecondition(f"the candidate policy is invalid ({count(len(problems), 'problem')}): {listed}")
    results, errors = run_suites(directory, candidate)
    if errors:
        raise FailedPrecondition("the candidate's test suites cannot run: " + "; ".join(str(e) for e in errors))
    failures = [failure for result in results for failure in result.failures]
    if failures:
        shown = "; ".join(f"{f.file}:{f.line}: {f.assertion}: expected {f.expected}" for f in failures[:10])
        failing = f"{count(len(failures), 'policy test assertion')} {agree(len(failures), 'fails', 'fail')}"
        raise FailedPrecondition(f"{failing} under the candidate: {shown}")
    return candidate


def load_served_policy(directory: str | Path) -> Policy:
    """The policy `serve` starts on: the rule of a reload (valid, and its test suites pass),
    else PolicyError saying why."""
    try:
        return vet(Path(directory))
    except FailedPrecondition as error:
        raise PolicyError(f"the policy in {directory} cannot be served: {error.reason}") from None


class PolicyReloader:
    def __init__(self, authorizer: Authorizer, directory: str | Path, poll_seconds: float) -> None:
        self.authorizer = authorizer
        self.directory = Path(directory)
        self.poll_seconds = poll_seconds
        self._seen = ""  # the watched digest last acted on (set by the watcher's first look)
        self._lock = asyncio.Lock()

    async def reload(self, force: bool = False, trigger: str = "rpc", actor: str = "", request_id: str = "") -> Outcome:
        """Reload now. Raises FailedPrecondition (after logging it) when the candidate is refused."""
        async with self._lock:
            authorizer = self.authorizer
            try:
                self._seen = await asyncio.to_thread(watched_digest, self.directory)
                digest = await asyncio.to_thread(policy_digest, self.directory)
            except OSError as error:
                metrics.POLICY_RELOADS.labels("rejected").inc()
                reason = f"cannot read the policy directory: {error.strerror or error}"
                log.warning("policy reload (%s) rejected; the running policy %s stays: %s", trigger,
                            authorizer.file_policy.digest[:12], reason)
                raise FailedPrecondition(f"policy reload rejected; the running policy stays: {reason}") from None
            if digest == authorizer.file_policy.digest and not force:
                metrics.POLICY_RELOADS.labels("unchanged").inc()
                return Outcome(False, digest, authorizer.revision, 0, "the policy files are unchanged")
            previous = authorizer.file_policy.digest
            try:
                candidate = await asyncio.to_thread(vet, self.directory)
                revision, removed = await authorizer.replace_policy(candidate, force, actor or trigger, request_id)
            except (PolicyError, FailedPrecondition) as error:
                metrics.POLICY_RELOADS.labels("rejected").inc()
                log.warning("policy reload (%s) rejected; the running policy %s stays: %s", trigger,
                            authorizer.file_policy.digest[:12], error.reason)
                raise FailedPrecondition(f"policy reload rejected; the running policy stays: {error.reason}") from None
            except Unavailable as error:  # a forced reload's removals could not be committed
                metrics.POLICY_RELOADS.labels("rejected").inc()
                log.warning("policy reload (%s) not applied; the running policy %s stays: %s", trigger,
                            authorizer.file_policy.digest[:12], error.reason)
                raise
            # A forced reload of the files in force changes nothing, unless it removed bindings.
            changed = candidate.digest != previous or removed > 0
            if not changed:
                metrics.POLICY_RELOADS.labels("unchanged").inc()
                return Outcome(False, candidate.digest, revision, 0, "the policy files are unchanged")
            metrics.POLICY_RELOADS.labels("accepted").inc()
            publish(candidate)
            removed_text = f"; removed {count(removed, 'binding')} of dropped or re-levelled roles" if removed else ""
            message = f"policy {candidate.digest[:12]} active from revision {revision}{removed_text}"
            log.info("policy reload (%s) accepted: %s", trigger, message)
            return Outcome(True, candidate.digest, revision, removed, message)

    async def reload_logged(self, trigger: str) -> None:
        """Reload for a trigger with no caller to answer (a signal, a file change)."""
        try:
            await self.reload(trigger=trigger)
        except AuthzError:
            pass  # logged and counted in reload()
        except Exception:
            log.exception("policy reload (%s) failed", trigger)

    async def watch(self) -> None:
        """Poll the files' content hash and reload when it changes (cheap: a few small files).
        The hash covers everything validation reads, test suites included. A rejected
        candidate is not retried until one of those files changes again."""
        while not self._seen:
            try:
                self._seen = await asyncio.to_thread(watched_digest, self.directory)
            except OSError as error:
                log.warning("cannot read the policy directory %s: %s", self.directory, error)
                await asyncio.sleep(self.poll_seconds)
                continue
            if self._seen.partition(":")[0] != self.authorizer.file_policy.digest:
                await self.reload_logged("watch")  # the files changed while the server started
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                digest = await asyncio.to_thread(watched_digest, self.directory)
            except OSError as error:
                log.warning("cannot read the policy directory %s: %s", self.directory, error)
                continue
            if digest != self._seen:
                await self.reload_logged("watch")
