"""The README's examples run, and print what the README shows (see readme_blocks.py for how a
block is run). A README that drifts from the program fails here."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import readme_blocks
from readme_blocks import Block

from authz.config import bundled_policies
from authz.testing.server import Server

pytestmark = pytest.mark.e2e

SHIM = Path(__file__).resolve().parent / "grpcurl_shim.py"
GROUPS: OrderedDict[str, list[Block]] = OrderedDict()
for _block in readme_blocks.blocks():
    GROUPS.setdefault(_block.server, []).append(_block)


def setup_candidate(directory: Path) -> None:
    """The misspelled candidate of "Validate": two bad lines at the end of roles.csv and a
    custom.csv extending a misspelled base role."""
    candidate = directory / "candidate"
    shutil.copytree(bundled_policies(), candidate)
    with (candidate / "roles.csv").open("a") as roles:
        roles.write("p, project_viewer, project, pipline, *, read\np, project_viewer, project, stack, *, read\n")
    (candidate / "custom.csv").write_text("p, model_reviewer, project, model, *, promote\n"
                                          "g, model_reviewer, projct_viewer, *\n")


def setup_shadow_candidate(directory: Path) -> None:
    """`shadow-candidate/` of "Shadow evaluation": the bundled policy without project_viewer's
    permission to read models."""
    candidate = directory / "shadow-candidate"
    shutil.copytree(bundled_policies(), candidate)
    roles = candidate / "roles.csv"
    line = "p, project_viewer, project, model, *, read\n"
    assert line in roles.read_text()
    roles.write_text(roles.read_text().replace(line, "", 1))


SETUPS = {"candidate": setup_candidate, "shadow-candidate": setup_shadow_candidate}


class Group:
    """One working directory and (once started) its server."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server: Server | None = None
        bin_dir = directory / ".bin"
        bin_dir.mkdir()
        shim = bin_dir / "grpcurl"
        shim.write_text(f"#!{sys.executable}\nimport runpy, sys\nsys.argv[0] = 'grpcurl'\n"
                        f"runpy.run_path({str(SHIM)!r}, run_name='__main__')\n")
        shim.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHZ_")}
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    def start(self, *flags: str) -> None:
        assert self.server is None, "a README group starts one server"
        self.server = Server(self.directory, "sqlite:///authz.db", *flags, env={}).start()
        self.env["AUTHZ_GRPC_ADDRESS"] = self.server.address

    def localise(self, text: str) -> str:
        """The README's addresses replaced by the server's."""
        if self.server is None:
            return text
        return text.replace("127.0.0.1:50051", self.server.address).replace(
            "127.0.0.1:9464", self.server.metrics_address)

    def bash(self, script: str) -> subprocess.CompletedProcess:
        """`script` run as a person would type it (exit codes are the README's to show)."""
        return subprocess.run(["bash", "-e", "-c", self.localise(script)], cwd=self.directory, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)

    def fail(self, where: str, done: subprocess.CompletedProcess) -> str:
        pytest.fail(f"{where} exited {done.returncode}:\n{done.stdout}")

    def run(self, block: Block) -> None:
        where = f"README.md:{block.line}"
        if "setup" in block.options:
            SETUPS[block.options["setup"]](self.directory)
        if "file" in block.options:
            (self.directory / block.options["file"]).write_text(block.text)
            return
        if block.language == "console":
            self.console(block, where)
        elif block.language == "sh":
            self.shell(block, where)
        elif block.language == "python":
            self.python(block, where)

    def console(self, block: Block, where: str) -> None:
        for command, expected in block.commands():
            if self.server is None and not command.startswith("authz policy validate"):
                self.start()
            actual = self.bash(command).stdout
            if not readme_blocks.matches(expected, actual):
                assert readme_blocks.normalised(actual) == readme_blocks.normalised(expected), \
                    f"{where}: $ {command}"

    def shell(self, block: Block, where: str) -> None:
        """The lines before an `authz serve` line, then the server with its flags, then the rest."""
        before: list[str] = []
        after: list[str] = []
        serve: list[str] | None = None
        for line in block.text.splitlines():
            if line.strip().startswith("authz serve"):
                serve = [w for w in shlex.split(line, comments=True)[2:] if w != "&"]
            else:
                (after if serve is not None else before).append(line)
        if serve is None and self.server is None:
            self.start()
        for script in (before, after):
            if script is after and serve is not None:
                self.start(*serve)
            if any(line.strip() for line in script):
                done = self.bash("\n".join(script))
                if done.returncode != 0:
                    self.fail(where, done)

    def python(self, block: Block, where: str) -> None:
        if self.server is None:
            self.start()
        script = self.directory / "readme_snippet.py"
        script.write_text(self.localise(block.text))
        done = subprocess.run([sys.executable, str(script)], cwd=self.directory, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if done.returncode != 0:
            self.fail(where, done)
        expected = [line.split("# -> ", 1)[1] for line in block.text.splitlines() if "# -> " in line]
        assert readme_blocks.normalised(done.stdout).splitlines() == expected, where

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.mark.parametrize("name", list(GROUPS))
def test_readme_examples(name, tmp_path):
    group = Group(tmp_path)
    try:
        for block in GROUPS[name]:
            group.run(block)
    finally:
        group.close()


def test_the_readme_has_examples_to_run():
    """The walkthrough and the security team's examples are among the blocks run."""
    commands = [command for blocks in GROUPS.values() for block in blocks for command, _ in block.commands()]
    assert "authz load-example" in commands
    assert any(c.startswith("authz explain") for c in commands)
    assert any(c.startswith("authz policy validate") for c in commands)
    assert {"tls", "writes"} <= set(GROUPS)


def test_the_configuration_tables_are_generated_from_settings():
    tool = Path(__file__).resolve().parents[2] / "tools" / "gen_config_docs.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
