"""`authz token create | list | revoke`: named tokens in the tokens file (see authz/token_file.py).
These edit the file only; a running server picks the change up within a second or so."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from authz import token_file
from authz.token_file import SCOPES, TokenFileError

ENV = "AUTHZ_TOKENS_FILE"


def _path(args: argparse.Namespace) -> Path:
    value = args.tokens_file or os.environ.get(ENV, "")
    if not value:
        raise TokenFileError(f"give --tokens-file or set {ENV}")
    return Path(value)


def create(args: argparse.Namespace) -> int:
    path = _path(args)
    token = token_file.append(path, args.name, args.scope)
    print(token)
    print(f"token {args.name!r} (scope {args.scope}) added to {path}; it is shown only this once", file=sys.stderr)
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    for entry in token_file.read(_path(args)):
        print(f"{entry.name} {entry.scope}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    path = _path(args)
    if not path.exists():
        raise TokenFileError(f"{path}: no such file")
    if not token_file.remove(path, args.name):
        raise TokenFileError(f"{path}: no token named {args.name!r}")
    print(f"token {args.name!r} removed from {path}", file=sys.stderr)
    return 0


def add_commands(commands) -> None:
    token = commands.add_parser("token", help="create, list and revoke named tokens in the tokens file")
    actions = token.add_subparsers(dest="token_command", required=True)

    def add(name: str, help: str, run) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help)
        parser.add_argument("--tokens-file", help=f"the tokens file [{ENV}]")
        parser.set_defaults(run=run)  # TokenFileError and OSError: one line, exit 2, from cli.main
        return parser

    made = add("create", "make a token, print it once and append its hash to the tokens file", create)
    made.add_argument("name", help="the name the change table records for this token's writes")
    made.add_argument("--scope", required=True, choices=SCOPES, help="check (decisions), integration (check and a workspace server's writes), audit (check and "
                           "the change feed) or admin (everything)")
    named = add("revoke", "remove a token from the tokens file", revoke)
    named.add_argument("name", help="the name of the token to revoke")
    add("list", "the names and scopes in the tokens file", list_tokens)
