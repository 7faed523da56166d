"""The `authz` command line.

Exit codes: 0 success (allowed, for `check` and `explain`), 1 a negative answer (denied, invalid,
not serving), 2 an error: a usage error, or a failure the command could not get past, printed as
one line that says what is wrong and what to do."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import fields

import grpc

from authz.config import Settings, read_setting_file
from authz.domain.errors import AuthzError

from . import access, changes, policy, tokens
from .common import UsageError, add_scope_arguments, read_stored_state, scope_of

# The settings every client command takes (the commands that talk to a running server).
CLIENT_SETTINGS = ("grpc_address", "database_url", "admin_token_file", "tls_ca_file", "client_cert_file",
                   "client_key_file")
ERROR = 2
METAVARS = {"policies": "DIR", "log_level": "LEVEL"}


def _add_settings(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None,
                  client: bool = False) -> None:
    """A flag for each setting (`names`, else every setting of `authz serve`), with the help
    for a client command when `client`."""
    for item in fields(Settings):
        if names is not None and item.name not in names:
            continue
        if names is None and not item.metadata["serve"]:
            continue
        if not item.metadata["flag"]:
            continue
        text = item.metadata["client"] if client and item.metadata["client"] else item.metadata["help"]
        default = f"; default {item.default!r}" if item.default != "" else ""
        parser.add_argument(
            Settings.flag(item.name), dest=item.name, type=type(item.default), default=None,
            metavar=METAVARS.get(item.name, item.name.split("_")[-1].upper()), help=f"{text} [{Settings.env_name(item.name)}{default}]",
        )


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {item.name: getattr(args, item.name, None) for item in fields(Settings)}
    return Settings.from_env(**overrides)


def _client(args: argparse.Namespace):
    from authz.client import Client
    from authz.tokens import find_admin_token

    settings = _settings(args)
    for name in ("tls_ca_file", "client_cert_file", "client_key_file"):
        if getattr(settings, name):
            read_setting_file(getattr(settings, name), name, pem=True)
    found = find_admin_token(settings)
    args.token_source = found.source
    args.settings = settings
    return Client(settings.grpc_address, token=found.value, tls_ca_file=settings.tls_ca_file or None,
                  client_cert_file=settings.client_cert_file or None,
                  client_key_file=settings.client_key_file or None)


def _serve(args: argparse.Namespace) -> int:
    from authz import workers

    settings = _settings(args)
    # Workers' metrics go to files, which prometheus_client must know of when first imported.
    directory = workers.metrics_directory() if settings.workers > 1 else None
    # Imported before logging is set up: what its libraries log at import stays out of the log.
    from authz.server import serve

    logging.basicConfig(level=settings.log_level_number, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("casbin").setLevel(logging.WARNING)  # it logs every policy line at INFO
    if directory is not None:
        return workers.supervise(settings, directory)
    asyncio.run(serve(settings))
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from authz.storage.sql import SqlStorage

    storage = SqlStorage(_settings(args).database_url)
    try:
        before, after = storage.migrate()
        revision = storage.revision()
    finally:
        storage.close()
    if before is None:
        print(f"created the schema (migration {after}); revision {revision}")
    elif before != after:
        print(f"upgraded the schema from migration {before} to {after}; revision {revision}")
    else:
        print(f"the schema is up to date (migration {after}); revision {revision}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from authz.engine.casbin_export import export
    from authz.engine.policy_files import load_policy

    settings = _settings(args)
    policy = load_policy(settings.policy_directory())
    index, revision = read_stored_state(settings.database_url)
    model, csv = export(index, policy, args.casbin)
    print(f"wrote {model} and {csv} at revision {revision}")
    return 0


def _check(args: argparse.Namespace) -> int:
    where = scope_of(args)
    with _client(args) as client:
        response = client.check(args.subject, args.action, args.resource, explain=True, **where)
    print("allowed" if response.allowed else "denied")
    print(response.explanation.text)
    return 0 if response.allowed else 1


def _load_example(args: argparse.Namespace) -> int:
    from authz.testing import example

    with _client(args) as client:
        try:
            response = client.import_operations(example.operations())
        except grpc.RpcError as error:
            # The first operation creates the organization: if it exists, the example is there.
            if error.code() == grpc.StatusCode.ALREADY_EXISTS and (error.details() or "").startswith("operations[0]"):
                print(f"the example organization {example.ORG!r} is already loaded; nothing changed")
                return 0
            raise
    print(f"loaded the example organization {example.ORG!r} at revision {response.revision}")
    return 0


def _health(args: argparse.Namespace) -> int:
    from grpc_health.v1 import health_pb2

    with _client(args) as client:
        status = client.health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(status))
    return 0 if status == health_pb2.HealthCheckResponse.SERVING else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="authz", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve gRPC and metrics (SQLite and bundled policies by default)")
    _add_settings(serve)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="create the database schema, or bring it up to date")
    _add_settings(migrate, ("database_url",))
    migrate.set_defaults(run=_migrate)

    export = commands.add_parser("export", help="write the stored state as a stock Casbin model and policy "
                                                "(reads the database; writes nothing to it)")
    export.add_argument("--casbin", required=True, metavar="DIR", help="directory for model.conf and policy.csv")
    _add_settings(export, ("database_url", "policies"))
    export.set_defaults(run=_export)

    check = commands.add_parser("check", help="ask the server for one decision, with its explanation "
                                              "(exit 0 allowed, 1 denied, 2 error)")
    add_scope_arguments(check)
    check.set_defaults(run=_check)

    example = commands.add_parser("load-example", help="load the README's example organization (once; "
                                                       "again says it is loaded)")
    example.set_defaults(run=_load_example)

    health = commands.add_parser("health", help="exit 0 when the server reports SERVING")
    health.set_defaults(run=_health)

    for client_command in (check, example, health):
        client_settings(client_command)
    policy.add_commands(commands, client_settings, _with_client, _add_settings)
    access.add_commands(commands, client_settings, _with_client)
    changes.add_commands(commands, client_settings, _with_client)
    tokens.add_commands(commands)
    return root


def client_settings(parser: argparse.ArgumentParser) -> None:
    _add_settings(parser, CLIENT_SETTINGS, client=True)


def _with_client(args: argparse.Namespace, command) -> int:
    with _client(args) as client:
        return command(args, client)


def _rpc_message(error: grpc.RpcError, args: argparse.Namespace) -> str:
    code, details = error.code(), (error.details() or "").strip()
    message = f"{code.name}: {details}"
    settings = getattr(args, "settings", None)
    if code == grpc.StatusCode.UNAUTHENTICATED and getattr(args, "token_source", "").startswith("no admin token"):
        message += f" ({args.token_source})"
    elif code == grpc.StatusCode.UNAVAILABLE and settings is not None:
        hint = (f"is `authz serve` running at {settings.grpc_address}? Point at it with --grpc-address or "
                f"{Settings.env_name('grpc_address')}")
        if settings.tls_ca_file and not settings.client_cert_file:
            hint += "; a server that requires client certificates also needs --client-cert-file and --client-key-file"
        elif not settings.tls_ca_file:
            hint += "; a TLS server needs --tls-ca-file"
        message += f"; {hint}"
    return message


def main(argv: list[str] | None = None) -> int:
    name, args = "authz", argparse.Namespace()
    try:
        args = parser().parse_args(argv)  # usage errors exit 2 here, from argparse
        name = "authz " + " ".join(filter(None, (args.command, getattr(args, "verb", None))))
        code = args.run(args)
        sys.stdout.flush()  # here, so that a closed pipe is a BrokenPipeError we handle
        return code
    except BrokenPipeError:
        # The reader stopped early (`| head`): nothing to say, and nothing more to write.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR
    except UsageError as error:
        print(f"{name}: {error} (see `{name} --help`)", file=sys.stderr)
    except grpc.RpcError as error:
        print(f"{name}: {_rpc_message(error, args)}", file=sys.stderr)
    except AuthzError as error:
        print(f"{name}: {error.message}", file=sys.stderr)
    except OSError as error:  # a file the command was given to read or write
        where = f"{error.filename}: " if error.filename else ""
        print(f"{name}: {where}{error.strerror or error}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
    return ERROR

