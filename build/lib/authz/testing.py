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

    def __init__(self, workdir: Path, database_url: str, *extra: str, env: dict[str, str] | None = None):
        self.workdir = workdir
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
            sys.executable, "-m", "authz.cli", "serve", "--database-url", self.database_url,
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
