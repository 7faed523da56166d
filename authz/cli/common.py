"""What the command line's modules share: usage errors, the scope arguments, and reading the
stored state without writing to the database."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """The command line asks for something it cannot mean; exit 2 like argparse's own errors."""


def scope_of(args: argparse.Namespace) -> dict[str, str]:
    if not (args.project or args.workspace or args.organization):
        raise UsageError("give --project, --workspace or --organization")
    return {"project": args.project or "", "workspace": args.workspace or "",
            "organization": args.organization or ""}


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("subject", help="user:<id>, service_account:<id> or team:<id>")
    parser.add_argument("action", help="an action of policies/actions.csv, such as read or update")
    parser.add_argument("resource", help="TYPE or TYPE/ID, such as pipeline or pipeline/train")
    parser.add_argument("--project", metavar="ID", help="the project the resource lives in (the most specific "
                                                        "id is enough: its workspace and organization are found)")
    parser.add_argument("--workspace", metavar="ID", help="the workspace, for a workspace-level resource")
    parser.add_argument("--organization", metavar="ID", help="the organization, for an organization-level resource")


def read_stored_state(database_url: str):
    """The index and revision of the database, read without writing to it (no migration, no
    lock): `export` and `policy diff` work on a read-only copy."""
    from authz.service.authorizer import load_index
    from authz.storage.sql import SqlStorage

    storage = SqlStorage(database_url, read_only=True)
    try:
        storage.check_schema()
        with storage.reachable():
            return load_index(storage)
    finally:
        storage.close()
