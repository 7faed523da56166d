"""The background sweep that removes expired grants from storage.

Grants stop counting at their instant without it (the index takes them out when a request's
clock read reaches them; see engine/expiry.py). The sweep makes the database, the change
table and so replicas and watchers agree: every `seconds` it commits the removal of what has
expired, through the normal write path (a revision and a change record, actor
"authz:expiry"). Replicas sweeping the same database are safe: the second to take the
database's write lock first applies the first one's removal, which leaves it nothing to remove."""

from __future__ import annotations

import asyncio
import logging

from authz.domain.errors import AuthzError
from authz.service.authorizer import Authorizer

log = logging.getLogger(__name__)


async def sweep(authorizer: Authorizer, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            removed = await authorizer.remove_expired()
        except AuthzError as error:
            # The database is unreachable, or its write lock was held too long: the next round
            # tries again.
            log.info("expired grants not removed this round: %s", error.reason)
            continue
        except Exception:
            log.exception("the sweep of expired grants failed; the next round tries again")
            continue
        if removed:
            log.info("removed %d expired %s at revision %d", removed, "grant" if removed == 1 else "grants",
                     authorizer.revision)
