"""What a person at the command line sees when something is wrong: one line that says what
and what to do, exit code 2, never a traceback; and the commands that only read never write."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from authz.config import bundled_policies
from authz.testing.server import Server

pytestmark = pytest.mark.e2e


def authz(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
          user: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`authz ARGS` in a fresh process; as `user` (through setpriv) when given."""
    command = [sys.executable, "-m", "authz.cli", *args]
    if user is not None:
        command = ["setpriv", "--reuid", user, "--regid", "nogroup", "--clear-groups", *command]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUTHZ_")}
    environment.update(env or {})
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


def fails_with(result: subprocess.CompletedProcess, *words: str, command: str = "authz") -> str:
    """The one-line failure of `result` (the last line of stderr, after any log lines of
    `authz serve`): exit 2, no traceback, no line of gRPC's own log; it contains `words`."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert not [line for line in output.splitlines() if line[:1] in "EWI" and line[1:5].isdigit()], output
    lines = result.stderr.strip().splitlines()
    assert lines, result
    if command != "authz serve":
        assert len(lines) == 1, lines
    line = lines[-1]
    assert line.startswith(command + ":"), line
    for word in words:
        assert word in line, (word, line)
    return line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cli")
    instance = Server(workdir, f"sqlite:///{workdir / 'authz.db'}").start()
    yield instance
    instance.stop()


def client_args(server: Server) -> list[str]:
    return ["--grpc-address", server.address, "--database-url", server.database_url]


@pytest.fixture
def nobody_dir():
    """A directory that `nobody` may read but not write, and a way to run `authz` as nobody
    (root ignores file modes, so the commands run as another user when the tests are root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a command as a user who may not write")
    directory = Path(tempfile.mkdtemp(prefix="authz-ro-"))
    yield directory
    shutil.rmtree(directory)


def lock_down(directory: Path) -> None:
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)


# ---- start-up


def test_a_malformed_variable_names_itself(tmp_path):
    fails_with(authz("serve", cwd=tmp_path, env={"AUTHZ_MAX_BATCH_SIZE": "abc"}),
               "AUTHZ_MAX_BATCH_SIZE='abc'", "whole number", command="authz serve")
    fails_with(authz("serve", "--max-page-size", "0", cwd=tmp_path), "--max-page-size", "at least 1",
               command="authz serve")
    fails_with(authz("serve", cwd=tmp_path, env={"AUTHZ_LOG_LEVEL": "LOUD"}), "AUTHZ_LOG_LEVEL", "INFO",
               command="authz serve")


@pytest.mark.parametrize("flags, words", [
    (["--tls-client-ca-file", "ca.pem"], ["--tls-client-ca-file", "--tls-cert-file", "plaintext"]),
    (["--tls-cert-file", "c.pem"], ["--tls-cert-file", "--tls-key-file"]),
    (["--tls-key-file", "k.pem"], ["--tls-key-file", "--tls-cert-file"]),
])
def test_incomplete_tls_stops_start_up(tmp_path, flags, words):
    fails_with(authz("serve", "--grpc-address", "127.0.0.1:0", *flags, cwd=tmp_path), *words, command="authz serve")


def test_a_tls_file_missing_or_a_directory(tmp_path):
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    missing = authz("serve", "--grpc-address", "127.0.0.1:0", "--tls-cert-file", "nope.pem",
                    "--tls-key-file", "key.pem", cwd=tmp_path)
    fails_with(missing, "--tls-cert-file", "nope.pem does not exist", command="authz serve")
    directory = authz("serve", "--grpc-address", "127.0.0.1:0", "--tls-cert-file", str(tmp_path),
                      "--tls-key-file", "key.pem", cwd=tmp_path)
    fails_with(directory, "--tls-cert-file", "is a directory", command="authz serve")
    client = authz("health", "--tls-ca-file", str(tmp_path / "ca.pem"), cwd=tmp_path)
    fails_with(client, "--tls-ca-file", "does not exist", command="authz health")


def test_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        grpc_taken = authz("serve", "--grpc-address", address, "--metrics-address", "", cwd=tmp_path)
        fails_with(grpc_taken, f"gRPC on {address}", "in use", "--grpc-address", command="authz serve")
        metrics_taken = authz("serve", "--grpc-address", "127.0.0.1:0", "--metrics-address", address, cwd=tmp_path)
        fails_with(metrics_taken, f"metrics on {address}", "in use", "--metrics-address", command="authz serve")


def test_postgresql_unreachable(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/authz"
    started = authz("serve", "--grpc-address", "127.0.0.1:0", "--metrics-address", "", "--database-url", url,
                    cwd=tmp_path)
    fails_with(started, "cannot reach the database", "refused", command="authz serve")
    fails_with(authz("migrate", "--database-url", url), "cannot reach the database", command="authz migrate")


@pytest.mark.postgres
def test_postgresql_database_missing(postgres_url):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(database="authz_no_such_database").render_as_string(hide_password=False)
    fails_with(authz("migrate", "--database-url", url), '"authz_no_such_database" does not exist',
               command="authz migrate")


def test_an_unwritable_directory_for_the_token_and_the_lock(nobody_dir):
    lock_down(nobody_dir)
    token = authz("serve", "--grpc-address", "127.0.0.1:0", "--metrics-address", "", cwd=nobody_dir, user="nobody")
    fails_with(token, "cannot create the admin token file", "authz-admin.token", "--admin-token-file",
               command="authz serve")
    lock = authz("migrate", cwd=nobody_dir, user="nobody")
    fails_with(lock, "migration lock", "writable", command="authz migrate")


def test_a_closed_pipe_is_no_traceback(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first byte
    try:
        result = subprocess.run([sys.executable, "-m", "authz.cli", "policy", "validate"], stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert result.returncode == 2 and result.stderr == "", result.stderr


# ---- usage errors


@pytest.mark.parametrize("command", [
    ["serve"], ["migrate"], ["export", "--casbin", "x"], ["check", "user:a", "read", "t"], ["load-example"],
    ["health"], ["policy", "validate"], ["policy", "test"], ["policy", "diff"], ["policy", "reload"],
    ["explain", "user:a", "read", "t"],
])
def test_usage_errors_exit_2_on_every_command(command):
    result = authz(*command, "--no-such-flag")
    assert result.returncode == 2 and "unrecognized arguments: --no-such-flag" in result.stderr


def test_check_and_explain_without_a_scope_are_usage_errors(server):
    for command in ("check", "explain"):
        fails_with(authz(command, "user:a", "read", "pipeline", *client_args(server)),
                   "give --project, --workspace or --organization", command=f"authz {command}")


def test_policy_diff_needs_a_candidate_or_operations():
    fails_with(authz("policy", "diff"), "CANDIDATE_DIR or --operations", command="authz policy diff")


def test_validate_a_directory_that_is_not_there():
    fails_with(authz("policy", "validate", "no/such/dir"), "not a directory", command="authz policy validate")


def test_bad_operations_json(server, tmp_path):
    (tmp_path / "ops.json").write_text('{"operations": [{"create_tem": {}}]}')
    fails_with(authz("policy", "diff", "--operations", str(tmp_path / "ops.json"), *client_args(server)[2:]),
               "--operations", "not an ImportRequest in JSON", command="authz policy diff")
    (tmp_path / "ops.json").write_text("{not json")
    fails_with(authz("policy", "diff", "--operations", str(tmp_path / "ops.json"), *client_args(server)[2:]),
               "--operations", command="authz policy diff")


# ---- commands that only read


def test_export_and_diff_work_on_a_read_only_directory(server, nobody_dir):
    assert authz("load-example", *client_args(server), cwd=server.workdir).returncode == 0
    copy = nobody_dir / "authz.db"
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    sqlite3.connect(copy).close()
    lock_down(nobody_dir)
    url = f"sqlite:///{copy}"
    out = Path(tempfile.mkdtemp(prefix="authz-export-"))
    out.chmod(0o777)
    try:
        exported = authz("export", "--casbin", str(out), "--database-url", url, cwd=nobody_dir, user="nobody")
        assert exported.returncode == 0 and "at revision 1" in exported.stdout, exported.stderr
        assert (out / "policy.csv").read_text().count("\ng, ") > 10
        diffed = authz("policy", "diff", "--database-url", url, str(bundled_policies()), cwd=nobody_dir,
                       user="nobody")
    finally:
        shutil.rmtree(out)
    assert diffed.returncode == 0 and "0 grants gained, 0 grants lost" in diffed.stdout, diffed.stderr
    assert sorted(p.name for p in nobody_dir.iterdir()) == ["authz.db"]


def test_export_does_not_migrate(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    result = authz("export", "--casbin", str(tmp_path / "out"), "--database-url", f"sqlite:///{empty}")
    fails_with(result, "has no authz schema", "authz migrate", command="authz export")
    assert sqlite3.connect(empty).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


# ---- the admin token


def test_from_another_directory_the_cli_says_where_it_looked(server, tmp_path):
    result = authz("load-example", "--grpc-address", server.address, cwd=tmp_path)
    line = fails_with(result, "UNAUTHENTICATED", str(tmp_path / "authz-admin.token"), "--admin-token-file",
                      "AUTHZ_ADMIN_TOKEN", command="authz load-example")
    assert server.token not in line
    pointed = authz("health", "--grpc-address", server.address, "--admin-token-file",
                    str(server.workdir / "authz-admin.token"), cwd=tmp_path)
    assert pointed.returncode == 0, pointed.stderr


def test_every_start_logs_the_token_file_in_use(tmp_path):
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()
    path = tmp_path / "authz-admin.token"
    try:
        assert f"created one in {path}" in server.log()
        server.stop()
        server.start()
        assert f"admin token: read from {path}" in server.log()
        assert server.token not in server.log()
    finally:
        server.stop()


def test_an_empty_token_file(tmp_path):
    (tmp_path / "t").write_text("\n")
    fails_with(authz("serve", "--admin-token-file", "t", cwd=tmp_path), "--admin-token-file", "is empty",
               command="authz serve")


# ---- what the commands say


def test_load_example_twice_says_it_is_loaded(tmp_path):
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()
    try:
        first = authz("load-example", "--grpc-address", server.address, cwd=tmp_path)
        assert first.returncode == 0 and "at revision 1" in first.stdout
        again = authz("load-example", "--grpc-address", server.address, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "the example organization 'acme' is already loaded; nothing changed"
    finally:
        server.stop()


def test_migrate_says_it_created_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    created = authz("migrate", "--database-url", url)
    assert created.returncode == 0 and created.stdout.startswith("created the schema (migration "), created
    again = authz("migrate", "--database-url", url)
    assert again.stdout.startswith("the schema is up to date (migration "), again


@pytest.mark.postgres
def test_with_postgresql_the_token_is_in_the_working_directory(tmp_path, postgres_url):
    server = Server(tmp_path, postgres_url).start()
    try:
        assert f"created one in {tmp_path / 'authz-admin.token'}" in server.log()
        listed = authz("load-example", "--grpc-address", server.address, "--database-url", postgres_url, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
    finally:
        server.stop()


# ---- the security posture


def test_a_wildcard_address_without_tls_or_check_token_is_warned_of(tmp_path):
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}", "--grpc-address", "0.0.0.0:0").start()
    try:
        log = server.log()
        assert "WARNING" in log and "gRPC listens on 0.0.0.0, beyond this machine, without TLS" in log
        assert "a check token" in log
    finally:
        server.stop()
    quiet = Server(tmp_path, f"sqlite:///{tmp_path / 'authz.db'}").start()  # loopback: nothing to warn of
    try:
        assert "beyond this machine" not in quiet.log()
    finally:
        quiet.stop()


def test_a_policy_file_that_is_not_utf8(tmp_path):
    policies = tmp_path / "p"
    shutil.copytree(bundled_policies(), policies)
    (policies / "custom.csv").write_bytes(b"\xff\xfe p, r, project, model, *, read\n")
    # validate reports it as a problem of the policy (exit 1, as for any invalid file) ...
    validated = authz("policy", "validate", str(policies))
    assert validated.returncode == 1 and "Traceback" not in validated.stderr, validated
    assert f"{policies}/custom.csv: not UTF-8 text" in validated.stdout + validated.stderr, validated
    # ... and serve refuses to start on it, in one line.
    fails_with(authz("serve", "--policies", str(policies), cwd=tmp_path), "not UTF-8", command="authz serve")


def test_a_policy_directory_that_is_not_there(tmp_path):
    fails_with(authz("serve", "--policies", "no/such/dir", cwd=tmp_path), "--policies (AUTHZ_POLICIES)",
               "not a directory", command="authz serve")
    fails_with(authz("export", "--casbin", "out", cwd=tmp_path, env={"AUTHZ_POLICIES": "nope"}), "AUTHZ_POLICIES",
               command="authz export")


def test_a_negative_number_of_examples():
    fails_with(authz("policy", "diff", "--max-examples", "-1", "candidate"), "--max-examples",
               command="authz policy diff")
    # Refused before any call: no server runs here, and a negative number once reached protobuf.
    fails_with(authz("policy", "shadow", "report", "--max-examples", "-3"), "--max-examples is -3",
               command="authz policy shadow")
    for sample in ("0", "-1", "nan", "1.5"):
        fails_with(authz("policy", "shadow", "start", "policies", "--sample", sample), f"--sample is {sample}",
                   command="authz policy shadow")


@pytest.mark.postgres
def test_export_and_diff_do_not_migrate_postgresql(postgres_url, tmp_path):
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    exported = authz("export", "--casbin", str(tmp_path / "out"), "--database-url", postgres_url)
    fails_with(exported, "has no authz schema", "authz migrate", command="authz export")
    diffed = authz("policy", "diff", "--database-url", postgres_url, str(bundled_policies()))
    fails_with(diffed, "has no authz schema", command="authz policy diff")
    engine = create_engine(postgres_url, poolclass=NullPool)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
