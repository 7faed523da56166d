"""`authz policy ...` and `authz explain`: the security team's commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from authz.config import Settings
from authz.domain.wording import agree, count

from . import shadow
from .common import UsageError, add_scope_arguments, read_stored_state, scope_of

# Exit codes of `authz policy test`, after Cerbos's: a failed assertion is not a load failure.
PASSED, FAILED, LOAD_FAILED = 0, 1, 2


def _directory(args: argparse.Namespace) -> Path:
    directory = Path(args.directory or Settings.from_env().policies)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory; give a policy directory (holding model.conf)")
    return directory


def validate(args: argparse.Namespace) -> int:
    from authz.engine.policy import Problem
    from authz.engine.policy_files import check_policy_dir
    from authz.engine.policy_tests import check_suites

    directory = _directory(args)
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
        print(count(len(problems), "problem"), file=sys.stderr)
    else:
        print(f"{directory}: valid ({count(len(policy.roles), 'role')})")  # type: ignore[union-attr]
    return 0 if policy is not None else 1


def test(args: argparse.Namespace) -> int:
    from authz.domain.errors import PolicyError
    from authz.engine.policy_files import load_policy
    from authz.engine.policy_tests import run_suites, suite_files

    directory = _directory(args)
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
        for problem in errors:
            print(f"cannot run {problem}")
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
    from authz.domain.errors import InvalidArgument

    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InvalidArgument(f"{path} does not exist", "--operations") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{path} is a directory; give a JSON file", "--operations") from None
    try:
        request = json_format.Parse(text, directory_pb2.ImportRequest())
    except json_format.ParseError as error:
        reason = str(error).splitlines()[0][:300]
        raise InvalidArgument(f"{path} is not an ImportRequest in JSON ({reason}); see the README's example",
                              "--operations") from None
    return [operation_from_proto(op, i) for i, op in enumerate(request.operations)]


def diff(args: argparse.Namespace) -> int:
    from authz.domain.errors import AuthzError
    from authz.engine.diff import diff_operations, diff_policy
    from authz.engine.policy_files import check_policy_dir, load_policy

    if bool(args.candidate) == bool(args.operations):
        raise UsageError("give a CANDIDATE_DIR or --operations FILE (one of them)")
    if args.max_examples < 0:
        raise UsageError(f"--max-examples is {args.max_examples}; give 0 or more")
    settings = Settings.from_env(database_url=args.database_url, policies=args.policies)
    operations = _load_operations(args.operations) if args.operations else None
    active = load_policy(settings.policy_directory())
    index, revision = read_stored_state(settings.database_url)
    active = active.with_stored_roles(index)
    try:
        if args.candidate:
            candidate, problems = check_policy_dir(args.candidate)
            if candidate is None:
                for problem in problems:
                    print(f"{args.candidate}/{problem}", file=sys.stderr)
                return 2
            result = diff_policy(index, active, candidate.with_stored_roles(index))
        else:
            assert operations is not None
            result = diff_operations(index, active, operations)
    except AuthzError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    report = result.as_dict(args.max_examples)
    report["revision"] = revision
    if args.format == "json":
        print(json.dumps(report, indent=2))
        return 0
    print(f"at revision {revision}: {count(report['gained_count'], 'grant')} gained, {count(report['lost_count'], 'grant')} lost")
    for item in report["roles_in_use"]:
        n = item["binding_count"]
        print(f"  role {item['role']}: {item['change']} while {count(n, 'binding')} {agree(n, 'uses', 'use')} it")
    for title, key in (("gained", "gained"), ("lost", "lost")):
        if report[key]:
            print(f"{title} (first {len(report[key])}):")
        for flip in report[key]:
            resource = flip["resource_type"] + (f"/{flip['resource_id']}" if flip["resource_id"] else "")
            print(f"  ({flip['subject']}, {resource}, {flip['action']}, {flip['node']})")  # as the README reads
    return 0


def reload(args: argparse.Namespace, client) -> int:
    response = client.reload_policy(force=args.force)
    print(response.message)
    return 0


def explain(args: argparse.Namespace, client) -> int:
    response = client.check(args.subject, args.action, args.resource, explain=True, **scope_of(args))
    e = response.explanation
    print(("allowed" if response.allowed else "denied") + f" at revision {response.revision}")
    print(f"  subject   {args.subject}" + (f" (through {e.via_team})" if e.via_team else ""))
    if e.HasField("binding"):
        scope = e.binding.scope
        node = (scope.project_id and f"project:{scope.project_id}") or (scope.workspace_id and \
            f"workspace:{scope.workspace_id}") or f"organization:{scope.organization_id}"
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


def add_commands(commands, client_settings, run_with_client, add_settings) -> None:
    policy = commands.add_parser("policy", help="validate, test, diff and reload the policy")
    verbs = policy.add_subparsers(dest="verb", required=True)

    validate_cmd = verbs.add_parser("validate", help="report every problem of a policy directory (exit 1 if any)")
    validate_cmd.add_argument("directory", nargs="?", help="default: the active policies directory")
    validate_cmd.add_argument("--format", choices=("text", "json"), default="text", help="text or json")
    validate_cmd.set_defaults(run=validate)

    test_cmd = verbs.add_parser("test", help="run tests/*.yaml (exit 1: an assertion failed, 2: cannot load)")
    test_cmd.add_argument("directory", nargs="?", help="default: the active policies directory")
    test_cmd.add_argument("--format", choices=("text", "json"), default="text", help="text or json")
    test_cmd.set_defaults(run=test)

    diff_cmd = verbs.add_parser("diff", help="what a candidate policy or binding changes would flip, over the "
                                             "stored bindings (reads the database, not the server)")
    diff_cmd.add_argument("candidate", nargs="?", metavar="CANDIDATE_DIR", help="the candidate policy directory")
    diff_cmd.add_argument("--operations", metavar="FILE", help="binding changes instead: an ImportRequest as JSON")
    add_settings(diff_cmd, ("database_url", "policies"))
    diff_cmd.add_argument("--max-examples", type=int, default=20, metavar="N",
                          help="flips to list in each of gained and lost (the counts are always complete) "
                               "[default 20]")
    diff_cmd.add_argument("--format", choices=("text", "json"), default="text", help="text for people, json for "
                                                                                      "machines")
    diff_cmd.set_defaults(run=diff)

    reload_cmd = verbs.add_parser("reload", help="ask the server to reload its policy directory")
    reload_cmd.add_argument("--force", action="store_true",
                            help="also remove the bindings of roles the new policy drops or re-levels")
    client_settings(reload_cmd)
    reload_cmd.set_defaults(run=lambda args: run_with_client(args, reload))

    shadow.add_verbs(verbs, client_settings, run_with_client)

    explain_cmd = commands.add_parser("explain", help="the full path of one decision, or what came closest")
    add_scope_arguments(explain_cmd)
    client_settings(explain_cmd)
    explain_cmd.set_defaults(run=lambda args: run_with_client(args, explain))
