"""AUTHZ_ADMIN_TOKEN is a setting like the others, read from the environment only."""

from __future__ import annotations

import re

import pytest

from authz.cli.main import parser
from authz.config import Settings
from authz.tokens import ENV_TOKEN, find_admin_token


def test_the_environment_gives_the_admin_token_and_it_wins_over_the_file(tmp_path):
    settings = Settings.from_env({"AUTHZ_ADMIN_TOKEN": " s3cret \n"},
                                 admin_token_file=str(tmp_path / "missing.token"))
    assert settings.admin_token.strip() == "s3cret"
    found = find_admin_token(settings)
    assert ENV_TOKEN == "AUTHZ_ADMIN_TOKEN"
    assert (found.value, found.source) == ("s3cret", "AUTHZ_ADMIN_TOKEN")


def test_the_token_never_shows_in_a_repr():
    assert "s3cret" not in repr(Settings.from_env({"AUTHZ_ADMIN_TOKEN": "s3cret"}))


@pytest.mark.parametrize("command", ["serve", "check", "health"])
def test_there_is_no_flag_for_it(command, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "--admin-token-file" in text and re.search(r"--admin-token(?![-\w])", text) is None
