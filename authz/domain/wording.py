"""Counting words in messages: "1 binding uses", "2 bindings use"."""

from __future__ import annotations


def count(number: int, noun: str, plural: str | None = None) -> str:
    """'1 binding', '3 bindings' ('1 policy', '2 policies' with `plural`)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def agree(number: int, singular: str, plural: str) -> str:
    """The verb for `number` things: agree(1, 'uses', 'use') == 'uses'."""
    return singular if number == 1 else plural
