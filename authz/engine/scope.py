"""Resolving a caller's Scope to a node of the stored hierarchy."""

from __future__ import annotations

from typing import Any

from authz.domain.errors import InvalidArgument
from authz.domain.model import ORGANIZATION, PROJECT, WORKSPACE, Node, Scope
from authz.domain.validation import check_id

from .index import Index

_FIELDS = ((PROJECT, "project_id"), (WORKSPACE, "workspace_id"), (ORGANIZATION, "organization_id"))


def known_chain(index: Index, organization: str, workspace: str, project: str) -> tuple[Node, ...] | None:
    """The fast path of `resolve`, shared by checks and the planner: the chain of the most
    specific node given when it is stored and the ancestors given are its own (a stored node
    is valid; nothing is left to verify). None means: take `resolve`, which gives the same
    answer for these and the errors and unknown nodes for the rest."""
    # Looked up by (kind, id) pairs, which equal and hash as the Node keys do, without making one.
    chains: dict[Any, tuple[Node, ...]] = index.chains
    if project:
        chain = chains.get((PROJECT, project))
        if chain is not None and (not workspace or chain[1].id == workspace) and (
            not organization or chain[2].id == organization
        ):
            return chain
    elif workspace:
        chain = chains.get((WORKSPACE, workspace))
        if chain is not None and (not organization or chain[1].id == organization):
            return chain
    elif organization:
        return chains.get((ORGANIZATION, organization))
    return None


def resolve(index: Index, scope: Scope | None, field: str = "scope") -> tuple[Node, tuple[Node, ...] | None]:
    """The most specific node the scope names, and its chain (None when that node is
    unknown: checks deny, writes answer NOT_FOUND). Ancestor ids that are given must
    agree with the stored hierarchy, else INVALID_ARGUMENT."""
    given: list[tuple[str, str, str]] = []
    if scope is not None:
        for kind, name in _FIELDS:
            value = getattr(scope, name)
            if value:
                given.append((kind, name, check_id(value, f"{field}.{name}")))
    if not given:
        raise InvalidArgument("give at least one of organization_id, workspace_id, project_id", field)
    kind, name, ident = given[0]
    node = Node(kind, ident)
    chain = index.chain(node)
    if chain is not None:
        actual = {ancestor.kind: ancestor.id for ancestor in chain}
        for other_kind, other_name, other_id in given[1:]:
            if actual.get(other_kind) != other_id:
                raise InvalidArgument(
                    f"{kind} {ident!r} belongs to {other_kind} {actual.get(other_kind)!r}, not {other_id!r}",
                    f"{field}.{other_name}",
                )
    return node, chain


def scope_of(index: Index, node: Node) -> Scope:
    """The full Scope of a known node."""
    ids = {n.kind: n.id for n in index.chain(node) or (node,)}
    return Scope(ids.get(ORGANIZATION, ""), ids.get(WORKSPACE, ""), ids.get(PROJECT, ""))
