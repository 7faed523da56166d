"""The hand-written BatchCheck encoding is byte for byte what protobuf writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from authz._gen.authz.v1 import authorization_pb2 as pb
from authz.api.batch_wire import ResultBytes, response_bytes, varint_field


@given(st.integers(min_value=0, max_value=2**64 - 1), st.lists(st.booleans(), max_size=300))
def test_the_encoding_equals_serialize_to_string(revision, answers):
    encoded = ResultBytes().at(revision)
    parts = [encoded.allowed if yes else encoded.denied for yes in answers]
    expected = pb.BatchCheckResponse(
        results=[pb.CheckResponse(allowed=yes, revision=revision) for yes in answers], revision=revision)
    assert response_bytes(parts, encoded) == expected.SerializeToString()
    assert pb.BatchCheckResponse.FromString(response_bytes(parts, encoded)) == expected


def test_a_new_revision_makes_new_bytes():
    encoded = ResultBytes()
    first = encoded.at(7).allowed
    assert encoded.at(8).allowed != first
    assert encoded.at(8).allowed == pb.BatchCheckResponse(
        results=[pb.CheckResponse(allowed=True, revision=8)]).SerializeToString()


@given(st.integers(min_value=1, max_value=15), st.integers(min_value=1, max_value=2**64 - 1))
def test_a_varint_field_equals_protobufs(number, value):
    # CheckResponse.revision is field 2, a uint64: the shape every varint field here has.
    assert varint_field(2, value) == pb.CheckResponse(revision=value).SerializeToString()
    assert varint_field(number, value)[0] == number << 3
