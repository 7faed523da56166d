"""Request limits enforced by the servicers (documented in the README)."""

from __future__ import annotations

from dataclasses import dataclass

from authz.domain.errors import InvalidArgument


@dataclass(frozen=True)
class Limits:
    max_batch_size: int = 1000
    max_message_bytes: int = 4 * 1024 * 1024
    max_page_size: int = 1000
    max_import_operations: int = 10_000
    max_revision_wait_seconds: float = 10.0

    def check_size(self, request) -> None:
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise InvalidArgument(f"the request is {size} bytes; at most {self.max_message_bytes} are accepted")

    def check_count(self, count: int, limit: int, field: str, what: str) -> None:
        if count > limit:
            raise InvalidArgument(f"{count} {what}; at most {limit} per call", field)
