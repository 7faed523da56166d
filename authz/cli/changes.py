"""`authz changes`: the change table for a person (who changed what, when, on whose behalf),
or as JSON lines for a pipeline; `--follow` goes on with each change as it commits.

Text: a block per change, its first line the revision, the token that wrote it, on whose
behalf, the time (UTC) and the request id; then its operations in words (with a filter, only
those that match it), at most MAX_SHOWN of them; a last line says how far the listing read.
JSON: one object per line and change: revision, committed_at (RFC 3339, UTC), token_name,
on_behalf_of, request_id, operations (each as in an Import file), binding_ids (for each
operation, the id of the binding it created, or ""), and with a subject or node filter,
matching_operations (their positions)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from google.protobuf import json_format

from authz.api.convert import change_operations_from_proto
from authz.domain.wording import count
from authz.engine.changes import describe

from .common import UsageError

PAGE_SIZE = 1000
# Operations shown per change in text (json has them all).
MAX_SHOWN = 20


def _time(change) -> str:
    moment = datetime.fromtimestamp(change.committed_at.seconds, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(change, filtered: bool) -> str:
    behalf = f" on behalf of {', '.join(change.on_behalf_of)}" if change.on_behalf_of else ""
    lines = [f"revision {change.revision} by token {change.token_name}{behalf} at {_time(change)} "
             f"(request {change.request_id or 'none'})"]
    positions = list(change.matching_operations) if filtered else list(range(len(change.operations)))
    operations = change_operations_from_proto(change)
    for position in positions[:MAX_SHOWN]:
        lines.append(f"  {describe(operations[position])}")
    hidden = len(change.operations) - min(len(positions), MAX_SHOWN)
    if hidden:
        why = "that do not match" if filtered and len(positions) <= MAX_SHOWN else "(--format json shows them all)"
        lines.append(f"  and {count(hidden, 'more operation')} {why}")
    return "\n".join(lines)


def _json(change, filtered: bool) -> str:
    record = {
        "revision": change.revision,
        "committed_at": change.committed_at.ToJsonString(),
        "token_name": change.token_name,
        "on_behalf_of": list(change.on_behalf_of),
        "request_id": change.request_id,
        "operations": [json_format.MessageToDict(op, preserving_proto_field_name=True) for op in change.operations],
        "binding_ids": list(change.binding_ids),
    }
    if filtered:
        record["matching_operations"] = list(change.matching_operations)
    return json.dumps(record)


def _where(args: argparse.Namespace) -> dict[str, str]:
    return {"project": args.project or "", "workspace": args.workspace or "", "organization": args.organization or ""}


def changes(args: argparse.Namespace, client) -> int:
    if args.after_revision < 0:
        raise UsageError("--after-revision must be 0 or more")
    where = _where(args)
    filtered = bool(args.subject or any(where.values()))
    show = _json if args.format == "json" else _text
    listed = 0

    def list_after(after: int) -> int:
        """Print every matching change after `after`; the revision read through."""
        nonlocal listed
        token = ""
        while True:
            page = client.list_changes(after_revision=after, page_size=PAGE_SIZE, page_token=token,
                                       subject=args.subject or "", token_name=args.token or "", **where)
            for change in page.changes:
                print(show(change, filtered), flush=args.follow)
            listed += len(page.changes)
            token = page.next_page_token
            if not token:
                return page.revision

    read_through = list_after(args.after_revision)
    if not args.follow:
        if args.format == "text":
            print(f"{count(listed, 'change')}, read through revision {read_through}")
        return 0
    # Each change the stream brings is listed with the same filters, so that --follow shows
    # exactly what the listing would (the node filter needs the server's hierarchy).
    for change in client.watch_changes(read_through):
        if change.revision > read_through:
            read_through = list_after(read_through)
    return 0


def add_commands(commands, client_settings, run_with_client) -> None:
    parser = commands.add_parser(
        "changes", help="the change table: who changed what, when and on whose behalf (admin or audit token)",
        description="Every committed write after --after-revision, oldest first, filtered. For example, who "
                    "gave eve access to production, and when: "
                    "authz changes --subject user:eve --workspace production")
    parser.add_argument("--subject", help="only changes with an operation naming this subject (user:<id>, "
                                          "service_account:<id> or team:<id>): as subject, actor or on behalf of")
    parser.add_argument("--project", metavar="ID", help="only changes with an operation on this project...")
    parser.add_argument("--workspace", metavar="ID", help="...or on this workspace or below it...")
    parser.add_argument("--organization", metavar="ID", help="...or on this organization or below it")
    parser.add_argument("--token", metavar="NAME", help="only changes written with the token of this name")
    parser.add_argument("--after-revision", type=int, default=0, metavar="N",
                        help="only changes after revision N (default 0: all that are kept)")
    parser.add_argument("--follow", action="store_true",
                        help="after the listing, print each new change as it commits, until interrupted")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for a person; json: one object per line and change")
    client_settings(parser)
    parser.set_defaults(run=lambda args: run_with_client(args, changes))
