"""`authz policy shadow start DIR [--sample RATE] | stop | report`: shadow evaluation of a
candidate policy on the live traffic of one server (api/shadow.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from google.protobuf import json_format

from .common import UsageError

MAX_EXAMPLES = 2**32 - 1  # the field is a uint32


def _node(scope) -> str:
    for kind in ("project", "workspace", "organization"):
        ident = getattr(scope, f"{kind}_id")
        if ident:
            return f"{kind}:{ident}"
    return "?"


def start(args: argparse.Namespace, client) -> int:

    if not 0 < args.sample <= 1:  # false for nan too
        raise UsageError(f"--sample is {args.sample}; give a share of the questions, above 0 and at most 1")
    response = client.start_shadow(str(Path(args.directory).resolve()), args.sample)
    print(f"shadowing {response.candidate_hash[:12]} on {response.replica}, sampling {response.sample_rate:g} "
          "of checks, batch items and listings")
    for warning in response.warnings:
        print(f"warning: {warning}")
    return 0


def print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(json_format.MessageToDict(report, always_print_fields_with_no_presence=True), indent=2))
        return
    if not report.candidate_hash:
        print(f"no shadow has run on {report.replica}")
        return
    state = "running" if report.running else f"ended: {report.end_reason}"
    print(f"shadow of {report.candidate_hash[:12]} on {report.replica} ({state})")
    print(f"  sampled {report.sampled}, evaluated {report.evaluated}, dropped {report.dropped}, "
          f"stale {report.stale}")
    for row in report.disagreements:
        print(f"  {row.rpc}: {row.evaluated} evaluated, candidate allows {row.candidate_allows} "
              f"the active policy denies, candidate denies {row.candidate_denies} it allows")
    for example in report.examples:
        resource = example.resource.type + (f"/{example.resource.id}" if example.resource.id else "")
        verdict = "allows" if example.candidate_allowed else "denies"
        print(f"  {example.rpc}: the candidate {verdict} {example.subject} {example.action} {resource} "
              f"in {_node(example.scope)}")
        print(f"    active:    {example.active_explanation}")
        print(f"    candidate: {example.candidate_explanation}")


def stop(args: argparse.Namespace, client) -> int:

    print_report(client.stop_shadow(), args.format == "json")
    return 0


def report(args: argparse.Namespace, client) -> int:

    if not 0 <= args.max_examples <= MAX_EXAMPLES:
        raise UsageError(f"--max-examples is {args.max_examples}; give 0 to {MAX_EXAMPLES}")
    print_report(client.shadow_report(args.max_examples), args.format == "json")
    return 0


def add_verbs(verbs, client_settings, run_with_client) -> None:
    shadow = verbs.add_parser("shadow", help="decide live traffic under a candidate policy too, and report "
                                             "where it disagrees (answers stay the active policy's)")
    actions = shadow.add_subparsers(dest="shadow_verb", required=True)
    start_cmd = actions.add_parser("start", help="start shadowing a candidate policy directory (on the server)")
    start_cmd.add_argument("directory", metavar="DIR", help="the candidate policy directory (validated and its suites run, as for a reload)")
    start_cmd.add_argument("--sample", type=float, default=1.0, help="share of questions decided again (0, 1]")
    client_settings(start_cmd)
    start_cmd.set_defaults(run=lambda args: run_with_client(args, start))
    stop_cmd = actions.add_parser("stop", help="stop the shadow and print its report")
    stop_cmd.add_argument("--format", choices=("text", "json"), default="text", help="text for a person, json for machines")
    client_settings(stop_cmd)
    stop_cmd.set_defaults(run=lambda args: run_with_client(args, stop))
    report_cmd = actions.add_parser("report", help="the shadow's counts and most recent disagreements")
    report_cmd.add_argument("--max-examples", type=int, default=20, help="most disagreement examples to print")
    report_cmd.add_argument("--format", choices=("text", "json"), default="text", help="text for a person, json for machines")
    client_settings(report_cmd)
    report_cmd.set_defaults(run=lambda args: run_with_client(args, report))
