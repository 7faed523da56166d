"""The command line's help: every argument says what it is, and client commands describe the
client's side of a setting, not the server's."""

from __future__ import annotations

import argparse

import pytest

from authz.cli.main import CLIENT_SETTINGS, parser
from authz.config import Settings
from authz.domain.errors import ConfigError
from authz.server import exposure_warning


def commands(root: argparse.ArgumentParser, prefix: str = "authz"):
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{prefix} {name}")
    yield prefix, root


def arguments(command: argparse.ArgumentParser):
    return [a for a in command._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def test_every_argument_has_help():
    missing = [f"{name} {a.dest}" for name, command in commands(parser()) for a in arguments(command)
               if not (a.help or "").strip()]
    assert missing == []


CLIENT_COMMANDS = ["authz check", "authz explain", "authz health", "authz load-example", "authz policy reload"]


@pytest.mark.parametrize("name", CLIENT_COMMANDS)
def test_client_commands_speak_as_a_client(name):
    command = dict(commands(parser()))[name]
    helps = {a.dest: a.help for a in arguments(command)}
    assert set(CLIENT_SETTINGS) <= set(helps)
    assert "to serve" not in helps["grpc_address"]
    assert "created" not in helps["admin_token_file"]
    for name_, variable in [("tls_ca_file", "AUTHZ_TLS_CA_FILE"), ("client_cert_file", "AUTHZ_CLIENT_CERT_FILE"),
                            ("client_key_file", "AUTHZ_CLIENT_KEY_FILE")]:
        assert variable in helps[name_]


def test_client_variables_do_not_collide_with_the_servers():
    serve = {a.dest for a in arguments(dict(commands(parser()))["authz serve"])}
    assert not {"tls_ca_file", "client_cert_file", "client_key_file"} & serve
    names = [Settings.env_name(name) for name in ("tls_ca_file", "client_cert_file", "client_key_file")]
    assert not set(names) & {"AUTHZ_TLS_CERT_FILE", "AUTHZ_TLS_KEY_FILE", "AUTHZ_TLS_CLIENT_CA_FILE"}


def test_a_client_certificate_needs_its_key_and_a_ca():
    with pytest.raises(ConfigError, match="--client-key-file"):
        Settings.from_env({}, client_cert_file="c.pem", tls_ca_file="ca.pem")
    with pytest.raises(ConfigError, match="--tls-ca-file"):
        Settings.from_env({}, client_cert_file="c.pem", client_key_file="k.pem")


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "10.1.2.3", "authz.internal"])
def test_listening_beyond_this_machine_is_warned_of(host):
    warning = exposure_warning(Settings.from_env({}), host)
    assert warning is not None and "TLS" in warning and "check token" in warning
    with_both = Settings.from_env({}, tls_cert_file="c", tls_key_file="k", check_token_file="t")
    assert exposure_warning(with_both, host) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_warning(host):
    assert exposure_warning(Settings.from_env({}), host) is None
