"""Request limits enforced by the servicers (documented in the README)."""

from __future__ import annotations

from dataclasses import dataclass

from authz.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100  # a listing's page when the request gives no page_size


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

    def page_size(self, asked: int, what: str) -> int:
        """A listing's page size: `asked`, or DEFAULT_PAGE_SIZE for 0; beyond the limit,
        InvalidArgument naming page_size."""
        size = asked or DEFAULT_PAGE_SIZE
        self.check_count(size, self.max_page_size, "page_size", what)
        return size
