"""One typed configuration. Every setting has a default, a description and an AUTHZ_*
environment variable; `authz serve --help` and the README list them all."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from authz.api.limits import Limits


def bundled_policies() -> Path:
    """`policies/` of the source tree (or AUTHZ_POLICIES in an image)."""
    return Path(__file__).resolve().parent.parent / "policies"


def _setting(default, help: str, env: str | None = None):
    return field(default=default, metadata={"help": help, "env": env})


@dataclass
class Settings:
    database_url: str = _setting(
        "sqlite:///authz.db",
        "SQLAlchemy URL: sqlite:///FILE (the embedded default) or postgresql+psycopg://USER@HOST/DB",
    )
    policies: str = _setting(str(bundled_policies()), "directory holding model.conf and the role files")
    policy_poll_seconds: float = _setting(
        2.0, "how often to look for changed policy files and reload them (0 disables; SIGHUP still reloads)"
    )
    grpc_address: str = _setting("127.0.0.1:50051", "host:port to serve gRPC on (port 0 picks a free one)")
    metrics_address: str = _setting(
        "127.0.0.1:9464", "host:port for Prometheus metrics over HTTP (port 0 picks one; empty disables)"
    )
    admin_token_file: str = _setting(
        "", "file holding the admin token (else AUTHZ_ADMIN_TOKEN; else authz-admin.token is created)"
    )
    check_token_file: str = _setting("", "file holding a token that checks must present (default: checks are open)")
    tls_cert_file: str = _setting("", "PEM certificate chain; with --tls-key-file, serve gRPC over TLS")
    tls_key_file: str = _setting("", "PEM private key for --tls-cert-file")
    tls_client_ca_file: str = _setting("", "PEM CA bundle; when set, clients must present a certificate it signed")
    max_batch_size: int = _setting(1000, "most checks in one BatchCheck")
    max_message_bytes: int = _setting(4 * 1024 * 1024, "largest request accepted, in bytes")
    max_page_size: int = _setting(1000, "largest page_size of ListRoleBindings")
    max_import_operations: int = _setting(10_000, "most operations in one Import (and resources in DeleteResources)")
    max_revision_wait_seconds: float = _setting(10.0, "longest wait for at_least_revision when a call has no deadline")
    shutdown_grace_seconds: float = _setting(10.0, "how long SIGTERM waits for calls in flight")
    log_level: str = _setting("INFO", "DEBUG, INFO, WARNING or ERROR")
    database_probe_seconds: float = _setting(
        5.0, "how often to read the database's revision for authz_database_up and the replica lag (0 disables)"
    )
    expiry_sweep_seconds: float = _setting(
        1.0, "how often to remove expired grants from storage (they stop counting at their instant regardless; 0 disables)"
    )
    shadow_queue: int = _setting(10_000, "most sampled questions waiting for the shadow policy; more are dropped")
    shadow_examples: int = _setting(100, "most recent disagreement examples a shadow keeps")
    replica_name: str = _setting("", "this replica's name in shadow reports (default: the host name)")
    tokens_file: str = _setting(
        "", "file of named tokens with scopes (check, integration, admin), hashes only; re-read when it changes"
    )

    @classmethod
    def env_name(cls, name: str) -> str:
        return f"AUTHZ_{name.upper()}"

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        values = {}
        for item in fields(cls):
            raw = environ.get(cls.env_name(item.name))
            if raw is not None:
                values[item.name] = type(item.default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def limits(self) -> Limits:
        return Limits(
            self.max_batch_size,
            self.max_message_bytes,
            self.max_page_size,
            self.max_import_operations,
            self.max_revision_wait_seconds,
        )

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix):])
        return None

    def default_token_path(self) -> Path:
        """Where `authz serve` writes a generated admin token and the CLI looks for it."""
        db = self.sqlite_path()
        return (db.parent if db is not None else Path.cwd()) / "authz-admin.token"
