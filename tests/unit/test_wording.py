"""Counted words in messages agree with their number."""

from authz.domain.wording import agree, count


def test_one_and_many():
    assert f"{count(1, 'binding')} {agree(1, 'uses', 'use')}" == "1 binding uses"
    assert f"{count(2, 'binding')} {agree(2, 'uses', 'use')}" == "2 bindings use"
    assert count(0, "grant") == "0 grants"
    assert count(2, "policy", "policies") == "2 policies"
