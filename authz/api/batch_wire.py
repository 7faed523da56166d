"""BatchCheckResponse in protobuf's wire format, written by hand for the common batch: no item
asked for an explanation. Each result is one of two byte strings (allowed, denied) fixed by the
revision, so a batch of N answers is N appends and one parse in C, instead of N message copies.
tests/unit/test_batch_wire.py proves the bytes equal SerializeToString() of the same message."""

from __future__ import annotations


def varint_field(number: int, value: int) -> bytes:
    """A varint field (wire type 0) of a field number below 16."""
    out = bytearray([number << 3])
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class ResultBytes:
    """The encoded `results` entries (field 1, each a CheckResponse with `allowed` (1) and
    `revision` (2)) of one revision, and the response's own `revision` (field 2). Owned by the
    servicer: it keeps the last revision's, which is the one nearly every batch is at."""

    __slots__ = ("allowed", "denied", "revision", "tail")

    def __init__(self) -> None:
        self.revision = -1
        self.allowed = self.denied = self.tail = b""

    def at(self, revision: int) -> ResultBytes:
        if revision != self.revision:
            # proto3 leaves a zero revision out, here as in SerializeToString().
            tail = varint_field(2, revision) if revision else b""
            allowed = b"\x08\x01" + tail
            self.allowed = b"\x0a" + bytes([len(allowed)]) + allowed
            self.denied = b"\x0a" + bytes([len(tail)]) + tail
            self.tail = tail
            self.revision = revision
        return self


def response_bytes(parts: list[bytes], encoded: ResultBytes) -> bytes:
    """The whole BatchCheckResponse of `parts` (each `encoded.allowed` or `encoded.denied`)."""
    return b"".join(parts) + encoded.tail
