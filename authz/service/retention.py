"""Pruning the change table (--change-retention-days, --change-retention-count), both off by
default: the change table is the audit trail, and what WatchChanges and followers read.

Every replica prunes, every PRUNE_EVERY_SECONDS; the deletes are idempotent, so replicas
pruning the same database at once only repeat each other. A follower that falls behind the
records kept loads a full snapshot instead (Authorizer._catch_up_to)."""

from __future__ import annotations

import asyncio
import logging
import time

from authz import metrics
from authz.domain.errors import Unavailable
from authz.storage.base import Storage

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 5.0
DAY_SECONDS = 86_400


async def prune(storage: Storage, keep_count: int, keep_days: float) -> None:
    while True:
        older_than = time.time() - keep_days * DAY_SECONDS if keep_days else 0.0
        try:
            deleted = await asyncio.to_thread(storage.prune_changes, keep_count, older_than)
        except Unavailable as error:
            log.info("change records not pruned this round: %s", error.reason)
        except Exception:
            log.exception("pruning the change table failed; the next round tries again")
        else:
            if deleted:
                metrics.CHANGES_PRUNED.inc(deleted)
                log.info("pruned %d change %s", deleted, "record" if deleted == 1 else "records")
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
