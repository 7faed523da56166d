"""What the servicers share: the Authorizer once the index has loaded, and the limits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from authz.domain import operations as ops
from authz.domain.errors import Unavailable
from authz.service.authorizer import Authorizer, Written

from . import callinfo
from .limits import Limits
from .shadow import Shadow, ShadowConfig


class Backend:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._authorizer: Authorizer | None = None
        # Shadow evaluation (shadow.py): the running shadow or None, the last one for its report.
        self.shadow: Shadow | None = None
        self.last_shadow: Shadow | None = None
        self.shadow_config = ShadowConfig()
        # Set when the server begins to stop: streams (WatchChanges) end at once, cleanly.
        self.stopping = asyncio.Event()

    def ready(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer

    @property
    def authorizer(self) -> Authorizer:
        """The Authorizer, at the instant of the request: its one clock read, after which the
        index holds no grant expired by then (Authorizer.now)."""
        authorizer = self._loaded()
        authorizer.now()
        return authorizer

    def _loaded(self) -> Authorizer:
        authorizer = self._authorizer
        if authorizer is None:
            raise Unavailable("the index is still loading; retry shortly (the health service says when)")
        return authorizer

    @property
    def revision(self) -> int:
        """The revision the index is at; 0 while it loads."""
        authorizer = self._authorizer
        return 0 if authorizer is None else authorizer.revision

    async def write(self, operations: Sequence[ops.Operation], context, field_prefix: str | None = None) -> Written:
        """Apply `operations` as the calling token, under the call's request id, waiting for
        other writers at most until shortly before the call's deadline (so that UNAVAILABLE,
        saying why, reaches the caller rather than a bare DEADLINE_EXCEEDED)."""
        remaining = context.time_remaining()
        timeout = None if remaining is None else max(0.001, remaining - min(0.25, remaining / 5))
        return await self.authorizer.write(operations, callinfo.caller.get(), callinfo.request_id.get(), field_prefix,
                                           timeout)

    async def wait_for(self, revision: int, context) -> None:
        """Honour `at_least_revision`, waiting at most until the call's deadline."""
        authorizer = self._loaded()
        if revision <= authorizer.revision:
            return
        await authorizer.wait_for(revision, self._wait_cap(context))

    async def fully_consistent(self, context) -> None:
        """Honour `fully_consistent`: the index at the database's newest revision, read now."""
        await self._loaded().consistent_revision(self._wait_cap(context))

    def _wait_cap(self, context) -> float:
        """How long a request may wait for a revision: the limit, and just short of its deadline
        (so that the answer still reaches the caller)."""
        remaining = context.time_remaining()
        cap = self.limits.max_revision_wait_seconds
        if remaining is not None:
            cap = min(cap, remaining - min(0.05, remaining / 10))
        return cap
