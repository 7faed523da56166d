"""`authz policy ...` and `authz explain`: the security team's commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from authz import shadow_cli
from authz.config import Settings

# Exit codes of `authz policy test`, after Cerbos's: a failed assertion is not a load failure.
PASSED, FAILED, LOAD_FAILED = 0, 1, 2


def validate(args: argparse.Namespace) -> int:
    from authz.engine.policy import Problem, check_policy_dir
    from authz.engine.policy_tests import check_suites

    directory = Path(args.directory or Settings.from_env().policies)
    policy, problems = check_policy_dir(directory)
    if policy is not None:
        problems = [Problem(e.file, e.line, e.message) for e in check_suites(directory, policy)]
        policy = None if problems else policy
    if args.format == "json":
        print(json.dumps({"directory": str(directory), "valid": policy is not None,
                          "problems": [p.as_dict() for p in problems]}, indent=2))
    elif problems:
        for problem in problems:
            print(f"{directory}/{problem}")
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
    else:
        print(f"{directory}: valid ({len(policy.roles)} roles)")  # type: ignore[union-attr]
    return 0 if policy is not None else 1


def test(args: argparse.Namespace) -> int:
    from authz.domain.errors import PolicyError
    from authz.engine.policy import load_policy
    from authz.engine.policy_tests import run_suites, suite_files

    directory = Path(args.directory or Settings.from_env().policies)
    try:
        policy = load_policy(directory)
    except PolicyError as error:
        print(error.reason, file=sys.stderr)
        return LOAD_FAILED
    if not suite_files(directory):
        print(f"{directory}/tests: no test suites (*.yaml)", file=sys.stderr)
        return LOAD_FAILED
    results, errors = run_suites(directory, policy)
    failures = [failure for result in results for failure in result.failures]
    if args.format == "json":
        print(json.dumps({
            "suites": [{"file": r.file, "name": r.name, "assertions": r.assertions,
                        "failures": [vars(f) for f in r.failures]} for r in results],
            "errors": [str(e) for e in errors],
        }, indent=2))
    else:
        for error in errors:
            print(f"cannot run {error}")
        for result in results:
            status = "ok" if not result.failures else f"{len(result.failures)} failed"
            print(f"{result.file}: {result.name}: {result.assertions} assertions, {status}")
            for failure in result.failures:
                print(f"  FAIL {failure}")
        total = sum(r.assertions for r in results)
        print(f"{total - len(failures)} passed, {len(failures)} failed")
    if errors:
        return LOAD_FAILED
    return FAILED if failures else PASSED


def _load_operations(path: str):
    from google.protobuf import json_format

    from authz._gen.authz.v1 import directory_pb2
    from authz.api.convert import operation_from_proto

    request = json_format.Parse(Path(path).read_text(), directory_pb2.ImportRequest())
    return [operation_from_proto(op, i) for i, op in enumerate(request.operations)]


def diff(args: argparse.Namespace) -> int:
    from authz.core import load_index
    from authz.domain.errors import AuthzError
    from authz.engine.diff import diff_operations, diff_policy
    from authz.engine.policy import check_policy_dir, load_policy
    from authz.storage.sql import SqlStorage

    settings = Settings.from_env(database_url=args.database_url, policies=args.policies)
    if bool(args.candidate) == bool(args.operations):
        raise SystemExit("authz policy diff: give a CANDIDATE_DIR or --operations FILE")
    active = load_policy(settings.policies)
    storage = SqlStorage(settings.database_url)
    storage.migrate()
    index, revision = load_index(storage)
    storage.close()
    active = active.with_custom_roles(index.custom_roles.values())
    try:
        if args.candidate:
            candidate, problems = check_policy_dir(args.candidate)
            if candidate is None:
                for problem in problems:
                    print(f"{args.candidate}/{problem}", file=sys.stderr)
                return 2
            result = diff_policy(index, active, candidate.with_custom_roles(index.custom_roles.values()))
        else:
            result = diff_operations(index, active, _load_operations(args.operations))
    except AuthzError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    report = result.as_dict(args.max_examples)
    report["revision"] = revision
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"at revision {revision}: {report['gained_count']} grants gained, {report['lost_count']} grants lost")
    for item in report["roles_in_use"]:
        print(f"  role {item['role']}: {item['change']} while {item['binding_count']} bindings use it")
    for title, key in (("gained", "gained"), ("lost", "lost")):
        if report[key]:
            print(f"{title} (first {len(report[key])}):")
        for flip in report[key]:
            resource = flip["resource_type"] + (f"/{flip['resource_id']}" if flip["resource_id"] else "")
            print(f"  ({flip['subject']}, {resource}, {flip['action']}, {flip['node']})")  # as the README reads
    return 0


def reload(args: argparse.Namespace, client) -> int:
    from authz._gen.authz.v1 import policy_pb2

    response = client._call(client.policy.Reload, policy_pb2.ReloadRequest(force=args.force))
    print(response.message)
    return 0


def explain(args: argparse.Namespace, client) -> int:
    response = client.check(args.subject, args.action, args.resource, project=args.project or "",
                            workspace=args.workspace or "", organization=args.organization or "", explain=True)
    e = response.explanation
    print(("allowed" if response.allowed else "denied") + f" at revision {response.revision}")
    print(f"  subject   {args.subject}" + (f" (through {e.via_team})" if e.via_team else ""))
    if e.HasField("binding"):
        scope = e.binding.scope
        node = scope.project_id and f"project:{scope.project_id}" or scope.workspace_id and \
            f"workspace:{scope.workspace_id}" or f"organization:{scope.organization_id}"
        print(f"  binding   {e.binding.id}: {e.binding.subject} has {e.binding.role} on {node}")
    if e.HasField("policy_line"):
        inherited = f" (inherited from {e.inherited_from})" if e.inherited_from else ""
        print(f"  policy    {e.policy_line.file}:{e.policy_line.line}: {e.policy_line.text}{inherited}")
    if e.HasField("share"):
        print(f"  share     {e.share.resource.type}/{e.share.resource.id} with {e.share.subject} for "
              f"{', '.join(e.share.actions)}")
    for miss in e.closest_misses:
        print(f"  closest   {miss}")
    print(f"  {e.text}")
    return 0 if response.allowed else 1


def add_commands(commands, client_settings, run_with_client) -> None:
    policy = commands.add_parser("policy", help="validate, test, diff and reload the policy")
    verbs = policy.add_subparsers(dest="verb", required=True)

    validate_cmd = verbs.add_parser("validate", help="report every problem of a policy directory (exit 1 if any)")
    validate_cmd.add_argument("directory", nargs="?", help="default: the active policies directory")
    validate_cmd.add_argument("--format", choices=("text", "json"), default="text")
    validate_cmd.set_defaults(run=validate)

    test_cmd = verbs.add_parser("test", help="run tests/*.yaml (exit 1: an assertion failed, 2: cannot load)")
    test_cmd.add_argument("directory", nargs="?", help="default: the active policies directory")
    test_cmd.add_argument("--format", choices=("text", "json"), default="text")
    test_cmd.set_defaults(run=test)

    diff_cmd = verbs.add_parser("diff", help="what a candidate policy or binding changes would flip, over the "
                                             "stored bindings (reads the database, not the server)")
    diff_cmd.add_argument("candidate", nargs="?", metavar="CANDIDATE_DIR")
    diff_cmd.add_argument("--operations", metavar="FILE", help="binding changes: an ImportRequest as JSON")
    diff_cmd.add_argument("--database-url")
    diff_cmd.add_argument("--policies", help="the active policy directory")
    diff_cmd.add_argument("--max-examples", type=int, default=20)
    diff_cmd.add_argument("--format", choices=("text", "json"), default="text")
    diff_cmd.set_defaults(run=diff)

    reload_cmd = verbs.add_parser("reload", help="ask the server to reload its policy directory")
    reload_cmd.add_argument("--force", action="store_true",
                            help="also remove the bindings of roles the new policy drops or re-levels")
    client_settings(reload_cmd)
    reload_cmd.set_defaults(run=lambda args: run_with_client(args, reload))

    shadow_cli.add_verbs(verbs, client_settings, run_with_client)

    explain_cmd = commands.add_parser("explain", help="the full path of one decision, or what came closest")
    explain_cmd.add_argument("subject")
    explain_cmd.add_argument("action")
    explain_cmd.add_argument("resource", help="TYPE or TYPE/ID")
    explain_cmd.add_argument("--project")
    explain_cmd.add_argument("--workspace")
    explain_cmd.add_argument("--organization")
    client_settings(explain_cmd)
    explain_cmd.set_defaults(run=lambda args: run_with_client(args, explain))
