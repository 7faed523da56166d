"""The `authz` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import fields

import grpc

from authz import policy_cli
from authz.config import Settings

CLIENT_SETTINGS = ("grpc_address", "database_url", "admin_token_file")


def _add_settings(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    for item in fields(Settings):
        if names is not None and item.name not in names:
            continue
        flag = "--" + item.name.replace("_", "-")
        env = Settings.env_name(item.name)
        parser.add_argument(
            flag, dest=item.name, type=type(item.default), default=None,
            help=f"{item.metadata['help']} [{env}; default {item.default!r}]",
        )


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {item.name: getattr(args, item.name, None) for item in fields(Settings)}
    return Settings.from_env(**overrides)


def _client(args: argparse.Namespace):
    from authz.client import Client
    from authz.tokens import admin_token

    settings = _settings(args)
    return Client(settings.grpc_address, token=admin_token(settings, create=False), tls_ca_file=args.tls_ca_file)


def _serve(args: argparse.Namespace) -> int:
    from authz.domain.errors import PolicyError
    from authz.server import serve

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("casbin").setLevel(logging.WARNING)  # it logs every policy line at INFO
    try:
        asyncio.run(serve(settings))
    except PolicyError as error:
        print(f"authz serve: {error.reason}", file=sys.stderr)
        return 2
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from authz.storage.sql import SqlStorage

    storage = SqlStorage(_settings(args).database_url)
    storage.migrate()
    print(f"schema up to date; revision {storage.revision()}")
    storage.close()
    return 0


def _export(args: argparse.Namespace) -> int:
    from authz.core import load_index
    from authz.engine.casbin_export import export
    from authz.engine.policy import load_policy
    from authz.storage.sql import SqlStorage

    settings = _settings(args)
    policy = load_policy(settings.policies)
    storage = SqlStorage(settings.database_url)
    storage.migrate()
    index, revision = load_index(storage)
    storage.close()
    model, csv = export(index, policy, args.casbin)
    print(f"wrote {model} and {csv} at revision {revision}")
    return 0


def _check(args: argparse.Namespace) -> int:
    if not (args.project or args.workspace or args.organization):
        raise SystemExit("authz check: give --project, --workspace or --organization")
    with _client(args) as client:
        response = client.check(
            args.subject, args.action, args.resource, project=args.project or "",
            workspace=args.workspace or "", organization=args.organization or "", explain=True,
        )
    print("allowed" if response.allowed else "denied")
    print(response.explanation.text)
    return 0 if response.allowed else 1


def _load_example(args: argparse.Namespace) -> int:
    from authz import example

    with _client(args) as client:
        response = client.import_operations(example.operations())
    print(f"loaded the example organization {example.ORG!r} at revision {response.revision}")
    return 0


def _health(args: argparse.Namespace) -> int:
    from grpc_health.v1 import health_pb2

    with _client(args) as client:
        status = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    return 0 if status == health_pb2.HealthCheckResponse.SERVING else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="authz", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve gRPC and metrics (SQLite and bundled policies by default)")
    _add_settings(serve)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    _add_settings(migrate, ("database_url",))
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export", help="write the stored state as a stock Casbin model and policy")
    export.add_argument("--casbin", required=True, metavar="DIR", help="directory for model.conf and policy.csv")
    _add_settings(export, ("database_url", "policies"))
    export.set_defaults(run=_export)

    check = commands.add_parser("check", help="ask the server for one decision, with its explanation")
    check.add_argument("subject", help="user:<id>, service_account:<id> or team:<id>")
    check.add_argument("action")
    check.add_argument("resource", help="TYPE or TYPE/ID")
    check.add_argument("--project", help="the project the resource lives in (the most specific id is enough)")
    check.add_argument("--workspace")
    check.add_argument("--organization")
    check.set_defaults(run=_check)

    example = commands.add_parser("load-example", help="load the README's example organization")
    example.set_defaults(run=_load_example)

    health = commands.add_parser("health", help="exit 0 when the server reports SERVING")
    health.set_defaults(run=_health)

    for client_command in (check, example, health):
        _client_settings(client_command)
    policy_cli.add_commands(commands, _client_settings, _with_client)
    return root


def _client_settings(parser: argparse.ArgumentParser) -> None:
    _add_settings(parser, CLIENT_SETTINGS)
    parser.add_argument("--tls-ca-file", help="PEM CA bundle to verify a TLS server with")


def _with_client(args: argparse.Namespace, command) -> int:
    with _client(args) as client:
        return command(args, client)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
