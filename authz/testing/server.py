"""Starting and stopping a real `authz serve` process: for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from authz.client import Client

LISTENING = re.compile(r"authz: (grpc|metrics) listening on (\S+)")


class Server:
    """One `authz serve` process; ports are chosen by the server (port 0) and read from its output."""

    def __init__(self, workdir: Path, database_url: str, *extra: str, env: dict[str, str] | None = None,
                 wrapper: tuple[str, ...] = ()):
        """`wrapper`: a command that runs the server's command line given as its arguments."""
        self.workdir = workdir
        self.wrapper = wrapper
        self.database_url = database_url
        self.extra = extra
        self.env = {**os.environ, **(env or {})}
        if "AUTHZ_ADMIN_TOKEN" not in (env or {}):
            self.env.pop("AUTHZ_ADMIN_TOKEN", None)
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self.address = ""
        self.metrics_address = ""

    def start(self, wait: bool = True, timeout: float = 60.0) -> Server:
        self.output = []
        self.address = self.metrics_address = ""
        command = [
            *self.wrapper, sys.executable, "-m", "authz.cli", "serve", "--database-url", self.database_url,
            "--grpc-address", "127.0.0.1:0", "--metrics-address", "127.0.0.1:0", *self.extra,
        ]
        self.process = subprocess.Popen(
            command, cwd=self.workdir, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        ready = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                match = LISTENING.search(line)
                if match:
                    if match.group(1) == "grpc":
                        self.address = match.group(2)
                    else:
                        self.metrics_address = match.group(2)
                if "authz: serving at revision" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if wait:
            deadline = time.monotonic() + timeout
            while not self.address and time.monotonic() < deadline and self.process.poll() is None:
                time.sleep(0.02)
            if not ready.wait(max(0.0, deadline - time.monotonic())) or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("authz serve did not start:\n" + "".join(self.output))
        return self

    @property
    def token(self) -> str:
        if "AUTHZ_ADMIN_TOKEN" in self.env:
            return self.env["AUTHZ_ADMIN_TOKEN"]
        return (self.workdir / "authz-admin.token").read_text().strip()

    def client(self, token: str | None = "admin", **kwargs) -> Client:
        return Client(self.address, token=self.token if token == "admin" else token, **kwargs)

    def log(self) -> str:
        return "".join(self.output)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code


def resident_bytes(pid: int) -> int:
    """The resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PrivatePostgres:
    """A PostgreSQL server of its own, in a fresh directory under the system's temporary
    directory, on a free loopback port, for tests that stop or break their database (never the
    shared one). Run as the `postgres` user when started as root, since initdb refuses root
    (and a directory of its own because pytest's temporary directories are root's alone)."""

    def __init__(self, port: int) -> None:
        import tempfile

        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="authz-postgres-"))
        if os.geteuid() == 0:
            import shutil

            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        self.bin = _postgres_bin()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.directory / "postgres.log"
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def init(self) -> PrivatePostgres:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.directory / "postgres.log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop the server and delete its directory."""
        import shutil

        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bin() -> Path:
    """The directory of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, else PATH."""
    import shutil

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise FileNotFoundError("initdb not found (install PostgreSQL's server package)")
    return Path(found).parent
