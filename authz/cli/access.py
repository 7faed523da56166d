"""`authz who-can`, `authz access` and `authz access-report`: the security team's questions of
who has access and what someone holds. Every listing is read at one revision (the server
refuses a page of a later one, and the listing starts again), which the output names."""

from __future__ import annotations

import argparse
import csv
import json
import sys

import grpc

# Entries per call, and how often a listing starts again when a write moves the server on.
PAGE_SIZE = 1000
ATTEMPTS = 5
KINDS = {1: "binding", 2: "share", 3: "member"}
COLUMNS = ("subject", "kind", "role", "node", "through_team", "binding_id", "resource", "actions")


def node_name(scope) -> str:
    if scope.project_id:
        return f"project:{scope.project_id}"
    if scope.workspace_id:
        return f"workspace:{scope.workspace_id}"
    return f"organization:{scope.organization_id}"


def _all_pages(fetch, field: str) -> tuple[list, int]:
    """Every item of a paged listing and its one revision; starts again (up to ATTEMPTS
    times) when a write moves the server on between pages."""
    for attempt in range(ATTEMPTS):
        items: list = []
        token = ""
        try:
            while True:
                response = fetch(token)
                items.extend(getattr(response, field))
                token = response.next_page_token
                if not token:
                    return items, response.revision
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ABORTED or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def grant_fields(subject: str, grant) -> dict:
    """One grant as the columns of a report row."""
    row: dict = dict.fromkeys(COLUMNS, "")
    row.update(subject=subject, kind=KINDS.get(grant.rule, "?"), through_team=grant.via_team, actions=[])
    if grant.rule == 2:
        share = grant.share
        row.update(node=node_name(share.scope), resource=f"{share.resource.type}/{share.resource.id}",
                   actions=list(share.actions))
    else:
        row.update(binding_id=grant.binding.id)
        if grant.rule == 1:
            row.update(role=grant.binding.role, node=node_name(grant.binding.scope))
        else:
            row.update(node=node_name(grant.member_of))
    return row


def grant_text(grant) -> str:
    through = f" through {grant.via_team}" if grant.via_team else ""
    if grant.rule == 2:
        share = grant.share
        return (f"shared {share.resource.type}/{share.resource.id} for {', '.join(share.actions)} "
                f"on {node_name(share.scope)}{through}")
    binding = grant.binding
    if grant.rule == 1:
        star = ", by a * permission" if grant.wildcard else ""
        return f"{binding.role} on {node_name(binding.scope)}{through}{star} (binding {binding.id})"
    return (f"a member of {node_name(grant.member_of)}{through} ({binding.role} on {node_name(binding.scope)}, "
            f"binding {binding.id})")


def who_can(args: argparse.Namespace, client) -> int:
    if not (args.project or args.workspace or args.organization):
        print("authz who-can: give --project, --workspace or --organization", file=sys.stderr)
        return 2
    where = {"project": args.project or "", "workspace": args.workspace or "", "organization": args.organization or ""}
    node = next(f"{kind}:{value}" for kind, value in
                (("project", where["project"]), ("workspace", where["workspace"]),
                 ("organization", where["organization"])) if value)
    subjects, revision = _all_pages(
        lambda token: client.list_subjects(args.action, args.resource, **where, page_size=PAGE_SIZE,
                                           page_token=token), "subjects")
    if args.format == "json":
        print(json.dumps({
            "revision": revision, "action": args.action, "resource": args.resource, "node": node,
            "subjects": [{"subject": s.subject,
                          "grants": [{**grant_fields(s.subject, g), "wildcard": g.wildcard} for g in s.grants]}
                         for s in subjects],
        }, indent=2))
        return 0
    print(f"at revision {revision}: {_count(len(subjects), 'subject')} may {args.action} {args.resource} in {node}")
    width = max((len(s.subject) for s in subjects), default=0)
    for allowed in subjects:
        for number, grant in enumerate(allowed.grants):
            print(f"{(allowed.subject if not number else ''):<{width}}  {grant_text(grant)}")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _write_rows(title: str, revision: int, rows: list[dict], form: str, key: str, value: str) -> None:
    if form == "json":
        print(json.dumps({key: value, "revision": revision, "rows": rows}, indent=2))
        return
    if form == "csv":
        print(f"# {title} at revision {revision}")
        writer = csv.DictWriter(sys.stdout, COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "actions": ";".join(row["actions"])})
        return
    counts = {kind: sum(row["kind"] == kind for row in rows) for kind in KINDS.values()}
    print(f"{title} at revision {revision}: {_count(counts['binding'], 'binding')}, "
          f"{_count(counts['share'], 'share')}, {_count(counts['member'], 'membership')}")
    width = max((len(row["subject"]) for row in rows), default=0)
    for row in rows:
        through = f" through {row['through_team']}" if row["through_team"] else ""
        if row["kind"] == "binding":
            text = f"{row['role']} on {row['node']}{through} (binding {row['binding_id']})"
        elif row["kind"] == "share":
            text = f"{row['resource']} for {', '.join(row['actions'])} on {row['node']}{through}"
        else:
            text = f"can see {row['node']}{through} (binding {row['binding_id']})"
        print(f"  {row['subject']:<{width}}  {row['kind']:<7}  {text}")


def access(args: argparse.Namespace, client) -> int:
    entries, revision = _all_pages(
        lambda token: client.list_subject_access(args.subject, organization=args.organization or "",
                                                 page_size=PAGE_SIZE, page_token=token), "entries")
    rows = [grant_fields(entry.subject, entry.grant) for entry in entries]
    where = f" in organization:{args.organization}" if args.organization else ""
    _write_rows(f"access of {args.subject}{where}", revision, rows, args.format, "subject", args.subject)
    return 0


def access_report(args: argparse.Namespace, client) -> int:
    entries, revision = _all_pages(
        lambda token: client.list_subject_access(organization=args.organization, page_size=PAGE_SIZE,
                                                 page_token=token), "entries")
    rows = [grant_fields(entry.subject, entry.grant) for entry in entries]
    _write_rows(f"access report of organization:{args.organization}", revision, rows, args.format,
                "organization", args.organization)
    return 0


def add_commands(commands, client_settings, run_with_client) -> None:
    who = commands.add_parser("who-can", help="every subject that may do ACTION on RESOURCE at a node, and why")
    who.add_argument("action", help="an action, such as read or delete")
    who.add_argument("resource", help="TYPE (every resource of it) or TYPE/ID (one, with its shares)")
    who.add_argument("--project", help="the node asked about: a project...")
    who.add_argument("--workspace", help="...or a workspace...")
    who.add_argument("--organization", help="...or an organization")
    who.add_argument("--format", choices=("text", "json"), default="text", help="text for a person, json for machines")
    client_settings(who)
    who.set_defaults(run=lambda args: run_with_client(args, who_can))

    subject = commands.add_parser("access", help="a subject's bindings, shares and memberships, everywhere")
    subject.add_argument("subject", help="user:<id>, service_account:<id> or team:<id>")
    subject.add_argument("--organization", help="only access in this organization")
    subject.add_argument("--format", choices=("text", "json", "csv"), default="text",
                         help="text for a person; json or csv for an audit")
    client_settings(subject)
    subject.set_defaults(run=lambda args: run_with_client(args, access))

    report = commands.add_parser("access-report", help="everyone's bindings and shares in an organization, "
                                                       "one row per (subject, role, node, team) and per share")
    report.add_argument("--organization", required=True, help="the organization to report on")
    report.add_argument("--format", choices=("text", "json", "csv"), default="csv",
                        help="csv (the default) or json for an audit; text for a person")
    client_settings(report)
    report.set_defaults(run=lambda args: run_with_client(args, access_report))
