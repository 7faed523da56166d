"""A real ZenML server for end-to-end tests and benchmarks: its virtual environment, cached
outside the repository, and a running `uvicorn zenml.zen_server.zen_server_api:app` on a free
loopback port with a fresh SQLite store, optionally with the authz RBAC plug-in.

The environment holds `zenml[server]==ZENML_VERSION` and this repository installed as
`authz[zenml]` (without constraints.txt), resolved together, and passed `pip check`: that is
the install the README tells ZenML operators to make. It is built once per Python version and
set of our dependencies; the running server imports `authz` from the repository itself
(PYTHONPATH), so code changes need no reinstall. Stdlib only, like the tests' other helpers."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ZENML_VERSION = "0.98.0"
REPO = Path(__file__).resolve().parents[2]
PYTHON_TAG = f"py{sys.version_info.major}.{sys.version_info.minor}"


class ZenMLUnavailable(RuntimeError):
    """ZenML could not be installed or started here; the message says why."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "authz"


def _dependency_key() -> str:
    """A short hash of what the environment's install depends on: our dependencies and extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {"dependencies": project["dependencies"], "zenml": project["optional-dependencies"]["zenml"]}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:10]


def venv_dir() -> Path:
    return cache_root() / f"zenml-{ZENML_VERSION}-{PYTHON_TAG}-{_dependency_key()}"


def ensure_venv(timeout: float = 900.0) -> Path:
    """The cached environment's directory, building it first when missing (under a lock, so
    concurrent test sessions build it once). Raises ZenMLUnavailable when it cannot be built."""
    target = venv_dir()
    marker = target / ".authz-ready"
    if marker.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        python = target / "bin" / "python"
        steps = [
            [sys.executable, "-m", "venv", str(target)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"zenml[server]=={ZENML_VERSION}", f"{REPO}[zenml]"],
            [str(python), "-m", "pip", "check"],
        ]
        deadline = time.monotonic() + timeout
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True,
                                      timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise ZenMLUnavailable(f"installing ZenML {ZENML_VERSION} took over {timeout:.0f}s") from None
            if done.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                lines = [line for line in (done.stderr + done.stdout).splitlines()
                         if line.strip() and not line.startswith("WARNING: Location")]
                raise ZenMLUnavailable(
                    f"`{' '.join(step[2:] if step[0] != sys.executable else step)}` failed: "
                    + (lines[-1] if lines else f"exit {done.returncode}")
                )
        (target / "pip-check.txt").write_text(done.stdout)
        marker.write_text(f"zenml[server]=={ZENML_VERSION} and {REPO}[zenml]\n")
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Response:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<HTTP {self.status} {self.body[:300]!r}>"


class ZenMLServer:
    """One ZenML server process. `rbac_env` holds the plug-in's AUTHZ_ZENML_* settings; without
    it the server runs with RBAC off."""

    def __init__(self, venv: Path, workdir: Path, rbac_env: dict[str, str] | None = None,
                 rbac_source: str = "authz.integrations.zenml.AuthzRBAC") -> None:
        self.venv = venv
        self.workdir = workdir
        self.rbac_env = rbac_env
        self.rbac_source = rbac_source
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "zenml.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env.update({
            "PYTHONPATH": str(REPO),  # this checkout's plug-in, not the one installed with the venv
            "PYTHONDONTWRITEBYTECODE": "1",  # and leave no __pycache__ in the checkout
            "ZENML_SERVER": "true",
            "ZENML_CONFIG_PATH": str(self.workdir / "config"),
            "ZENML_STORE_URL": f"sqlite:///{self.workdir / 'zenml.db'}",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
            "ZENML_SERVER_AUTH_SCHEME": "OAUTH2_PASSWORD_BEARER",
            "ZENML_SERVER_JWT_SECRET_KEY": hashlib.sha256(str(self.workdir).encode()).hexdigest(),
            "ZENML_SERVER_AUTO_ACTIVATE": "false",
            "ZENML_SERVER_LOGIN_RATE_LIMIT_MINUTE": "1000",
            "ZENML_SERVER_LOGIN_RATE_LIMIT_DAY": "100000",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "AUTO_OPEN_DASHBOARD": "false",
        })
        if self.rbac_env is not None:
            env["ZENML_SERVER_RBAC_IMPLEMENTATION_SOURCE"] = self.rbac_source
            env.update(self.rbac_env)
        return env

    def start(self, timeout: float = 120.0) -> ZenMLServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [str(self.venv / "bin" / "python"), "-m", "uvicorn", "zenml.zen_server.zen_server_api:app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=self.workdir, env=self.environment(),
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ZenMLUnavailable("the ZenML server exited:\n" + self.log()[-3000:])
            try:
                if self.request("GET", "/health").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ZenMLUnavailable("the ZenML server did not answer /health:\n" + self.log()[-3000:])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    # ---- the REST API

    def request(
        self, method: str, path: str, *, token: str | None = None, json_body: Any = None,
        form: dict[str, str] | None = None, params: dict[str, Any] | None = None, timeout: float = 30.0,
    ) -> Response:
        url = self.url + (path if path.startswith("/api") or path == "/health" else "/api/v1" + path)
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        headers = {"Accept": "application/json"}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read())

    def activate(self, username: str = "admin", password: str = "Admin-pass-1") -> dict:
        answer = self.request("PUT", "/activate",
                              json_body={"admin_username": username, "admin_password": password})
        if answer.status != 200:
            raise ZenMLUnavailable(f"activating the ZenML server failed: {answer!r}")
        return answer.json()

    def login(self, username: str, password: str) -> str:
        answer = self.request("POST", "/login", form={"grant_type": "password", "username": username,
                                                      "password": password})
        if answer.status != 200:
            raise AssertionError(f"login of {username} failed: {answer!r}")
        return answer.json()["access_token"]

    def login_api_key(self, key: str) -> str:
        answer = self.request("POST", "/login", form={"grant_type": "zenml-api-key", "password": key})
        if answer.status != 200:
            raise AssertionError(f"API key login failed: {answer!r}")
        return answer.json()["access_token"]
