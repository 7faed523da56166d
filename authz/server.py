"""`authz serve`: the gRPC server, its health and reflection services, metrics over HTTP,
and an orderly shutdown on SIGTERM. With `--workers N` above 1, authz/workers.py runs `serve`
in each of N processes it forks, passing a `Worker`: the index it loaded, the shared port, and
where to say that this worker serves."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer as AsyncReflectionServicer
from prometheus_client import REGISTRY, start_http_server

from authz import metrics
from authz._gen.authz.v1 import (
    authorization_pb2,
    authorization_pb2_grpc,
    changes_pb2,
    changes_pb2_grpc,
    diagnostics_pb2,
    diagnostics_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
)
from authz.api import interceptors
from authz.api.authorization import AuthorizationServicer
from authz.api.backend import Backend
from authz.api.changes import ChangeServicer
from authz.api.diagnostics import DiagnosticsServicer
from authz.api.directory import DirectoryServicer
from authz.api.policy import PolicyServicer
from authz.api.shadow import ShadowConfig
from authz.config import Settings, read_setting_file
from authz.domain.errors import ConfigError
from authz.engine.index import Index
from authz.engine.policy import Policy
from authz.metrics import StateGauges, register_state
from authz.service.authorizer import Authorizer, load_index
from authz.service.expiry_sweep import sweep
from authz.service.probe import DatabaseProbe
from authz.service.reload import PolicyReloader, load_served_policy, publish
from authz.service.retention import prune
from authz.storage.sql import SqlStorage
from authz.tokens import Tokens, server_tokens

log = logging.getLogger("authz")

SERVICES = (
    authorization_pb2.DESCRIPTOR.services_by_name["AuthorizationService"].full_name,
    directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name,
    policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name,
    diagnostics_pb2.DESCRIPTOR.services_by_name["DiagnosticsService"].full_name,
    changes_pb2.DESCRIPTOR.services_by_name["ChangeService"].full_name,
)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class TlsFiles:
    key: bytes
    cert: bytes
    client_ca: bytes | None

    def credentials(self) -> grpc.ServerCredentials:
        """Made where the server is (gRPC objects must not exist in a process that forks workers)."""
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.client_ca,
                                           require_client_auth=self.client_ca is not None)


def _tls_files(settings: Settings) -> TlsFiles | None:
    """TLS when a certificate is set (Settings.validate has refused a half-set TLS)."""
    if not settings.tls_cert_file:
        return None
    ca = None
    if settings.tls_client_ca_file:
        ca = read_setting_file(settings.tls_client_ca_file, "tls_client_ca_file", pem=True)
    return TlsFiles(read_setting_file(settings.tls_key_file, "tls_key_file", pem=True),
                    read_setting_file(settings.tls_cert_file, "tls_cert_file", pem=True), ca)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(settings: Settings, host: str) -> str | None:
    """What a listener beyond this machine lacks (TLS, a check token), or None."""
    if is_loopback(host):
        return None
    missing = []
    if not settings.tls_cert_file:
        missing.append("TLS (tokens and decisions cross the network in clear)")
    if not settings.check_token_file:
        missing.append("a check token (anyone who reaches it may ask for decisions)")
    if not missing:
        return None
    return (f"gRPC listens on {host or 'every interface'}, beyond this machine, without {' or '.join(missing)}; "
            "set --tls-cert-file and --tls-key-file, --check-token-file, or listen on 127.0.0.1")


BIND_FAILURES = {
    errno.EADDRINUSE: "the address is in use; stop the other process or choose another",
    errno.EADDRNOTAVAIL: "that is not an address of this machine; choose another",
    errno.EACCES: "this user may not listen on that port; choose a port above 1023 in",
}


def _bind_failure(address: str) -> str | None:
    """Why `address` cannot be bound, or None (checked before gRPC binds, whose own failure also
    writes a line of its core's log)."""
    host, port = _split(address)
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"{error.strerror}; choose another"
    for family, kind, proto, _, where in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(where)
            except OSError as error:
                if error.errno in BIND_FAILURES:
                    return BIND_FAILURES[error.errno]
    return None


def port_in_use(address: str) -> ConfigError | None:
    """The error to stop with when `address` cannot be bound by a socket of its own (no
    SO_REUSEPORT: a listener already there, of any program, refuses it), else None."""
    failure = _bind_failure(address)
    if failure:
        return ConfigError(f"cannot listen for gRPC on {address}: {failure} {Settings.named('grpc_address')}")
    return None


def _listen(server: grpc.aio.Server, settings: Settings, credentials, worker: Worker | None) -> int:
    address = settings.grpc_address
    if worker is None:
        refused = port_in_use(address)
        if refused:
            raise refused
    else:  # the supervisor has checked the port and holds it; the workers share it
        address = f"{address.rpartition(':')[0]}:{worker.port}"
    try:
        if credentials is None:
            return server.add_insecure_port(address)
        return server.add_secure_port(address, credentials)
    except RuntimeError:
        raise ConfigError(
            f"cannot listen for gRPC on {address}; choose another {Settings.named('grpc_address')}"
        ) from None


def serve_metrics(settings: Settings, registry=REGISTRY):
    host, port = _split(settings.metrics_address)
    try:
        httpd, _ = start_http_server(port, host, registry=registry)
    except OSError as error:
        why = "the address is in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
        raise ConfigError(
            f"cannot serve metrics on {settings.metrics_address}: {why}; stop the other process or choose another "
            f"{Settings.named('metrics_address')} (empty disables metrics)"
        ) from None
    print(f"authz: metrics listening on {host}:{httpd.server_port}", flush=True)
    return httpd


async def _set_health(servicer: HealthServicer, status) -> None:
    for name in ("", *SERVICES):
        await servicer.set(name, status)
    metrics.SERVING.set(1 if status == health_pb2.HealthCheckResponse.SERVING else 0)


def add_services(services, backend: Backend) -> PolicyServicer:
    """Register authz's five services over `backend` with `services` (the interceptors'
    registrar, which wraps each method as it registers); the PolicyServicer, whose reloader is
    set once the index has loaded. The in-process API tests (tests/api/) register the same way."""
    authorization_pb2_grpc.add_AuthorizationServiceServicer_to_server(AuthorizationServicer(backend), services)
    directory_pb2_grpc.add_DirectoryServiceServicer_to_server(DirectoryServicer(backend), services)
    policy_servicer = PolicyServicer(backend)
    policy_pb2_grpc.add_PolicyServiceServicer_to_server(policy_servicer, services)
    diagnostics_pb2_grpc.add_DiagnosticsServiceServicer_to_server(DiagnosticsServicer(backend), services)
    changes_pb2_grpc.add_ChangeServiceServicer_to_server(ChangeServicer(backend), services)
    return policy_servicer


async def _watch_staleness(servicer: HealthServicer, probe: DatabaseProbe, limit: float) -> None:
    """Health NOT_SERVING while the database has not answered for `limit` seconds, so that
    traffic moves to replicas that reach it; SERVING again once it answers."""
    stale = False
    while True:
        await asyncio.sleep(min(1.0, limit / 4))
        now_stale = probe.silent_for() > limit
        if now_stale != stale:
            stale = now_stale
            if stale:
                log.warning("no contact with the database for %.0fs (--max-staleness-seconds %g): NOT_SERVING",
                            probe.silent_for(), limit)
                await _set_health(servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
            else:
                log.info("the database answers again: SERVING")
                await _set_health(servicer, health_pb2.HealthCheckResponse.SERVING)


@dataclass
class Prepared:
    """What `serve` reads before it starts: the policy, TLS credentials and tokens (a supervisor
    of workers reads them once, before it forks)."""

    policy: Policy
    tls: TlsFiles | None
    tokens: Tokens


def prepare(settings: Settings) -> Prepared:
    return Prepared(load_served_policy(settings.policy_directory()), _tls_files(settings), server_tokens(settings))


@dataclass
class Worker:
    """One of `--workers N`: its number, the gRPC port all of them share, the index and revision
    the supervisor loaded before forking (this worker catches up from there), and `ready`, called
    with the revision once this worker serves."""

    number: int
    port: int
    prepared: Prepared
    index: Index
    revision: int
    ready: Callable[[int], None]


async def _open(settings: Settings, policy, worker: Worker | None) -> Authorizer:
    storage = SqlStorage(settings.database_url)
    try:
        if worker is not None:  # the supervisor migrated and loaded the database
            return Authorizer(storage, policy, worker.index, worker.revision)
        await asyncio.to_thread(storage.migrate)
        index, revision = await asyncio.to_thread(load_index, storage)
        return Authorizer(storage, policy, index, revision)
    except BaseException:
        storage.close()
        raise


async def serve(settings: Settings, worker: Worker | None = None) -> None:
    started = time.perf_counter()
    prepared = worker.prepared if worker is not None else prepare(settings)
    policy, tokens = prepared.policy, prepared.tokens
    credentials = prepared.tls.credentials() if prepared.tls is not None else None
    backend = Backend(settings.limits)
    backend.shadow_config = ShadowConfig(settings.shadow_queue, settings.shadow_examples,
                                         settings.replica_name or socket.gethostname())
    server = grpc.aio.server(
        options=[
            # Twice the documented limit: up to it, handlers answer INVALID_ARGUMENT themselves.
            ("grpc.max_receive_message_length", 2 * settings.max_message_bytes),
            # Workers share the port among themselves; alone, a second listener is refused.
            ("grpc.so_reuseport", 0 if worker is None else 1),
        ],
    )
    # Services register through the interceptors, which wrap each method once (no per-call
    # interceptor of gRPC's own; see authz/api/interceptors/__init__.py).
    services = interceptors.registrar(server, tokens, log)
    policy_servicer = add_services(services, backend)
    health_servicer = HealthServicer()
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, services)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        AsyncReflectionServicer((*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME)), services)

    port = _listen(server, settings, credentials, worker)
    host, _ = _split(settings.grpc_address)
    warning = exposure_warning(settings, host)
    if warning and worker is None:  # the supervisor warns once for all
        log.warning(warning)
    await server.start()
    if worker is None:
        print(f"authz: grpc listening on {host}:{port}{' (tls)' if credentials else ''}", flush=True)
    httpd = None
    try:
        if settings.metrics_address and worker is None:  # the supervisor serves the workers' metrics
            httpd = serve_metrics(settings)
        authorizer = await _open(settings, policy, worker)
    except BaseException:
        await server.stop(0)
        if httpd is not None:
            httpd.shutdown()
        raise
    revision, index = authorizer.revision, authorizer.index
    state = register_state(lambda: authorizer.index.counts(), lambda: authorizer.revision)
    backend.ready(authorizer)
    reloader = PolicyReloader(authorizer, settings.policies, settings.policy_poll_seconds)
    policy_servicer.reloader = reloader
    publish(policy)
    probe = DatabaseProbe(authorizer.storage.revision, lambda: authorizer.revision, settings.database_probe_seconds)
    probe.reached(revision)
    await _set_health(health_servicer, health_pb2.HealthCheckResponse.SERVING)
    listening = threading.Event()  # set: the NOTIFY listener stops
    listener = None
    if authorizer.storage.notifies:
        listener = threading.Thread(target=authorizer.storage.listen_for_changes, args=(authorizer.wake, listening),
                                    name="authz-listen", daemon=True)
        listener.start()
    # Handlers before announcing readiness: a SIGHUP's default action would end the process.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reloader.reload_logged("signal")))
    watcher = loop.create_task(reloader.watch()) if settings.policy_poll_seconds > 0 else None
    prober = loop.create_task(probe.run()) if settings.database_probe_seconds > 0 else None
    sweeper = loop.create_task(sweep(authorizer, settings.expiry_sweep_seconds)) \
        if settings.expiry_sweep_seconds > 0 else None
    # Workers' state gauges are set from here (a scrape reaches the supervisor, not this process).
    publisher = loop.create_task(state.publish_every(metrics.STATE_PUBLISH_SECONDS)) \
        if isinstance(state, StateGauges) else None
    calls_publisher = None
    if metrics.MULTIPROCESS_DIR:  # and the per-call counts, every series at 0 from the start
        metrics.publish_calls()
        calls_publisher = loop.create_task(metrics.publish_calls_every(metrics.STATE_PUBLISH_SECONDS))
    follower = loop.create_task(authorizer.follow(settings.follow_poll_seconds))
    pruner = loop.create_task(prune(authorizer.storage, settings.change_retention_count,
                                    settings.change_retention_days)) \
        if settings.change_retention_count or settings.change_retention_days else None
    staleness = loop.create_task(_watch_staleness(health_servicer, probe, settings.max_staleness_seconds)) \
        if settings.max_staleness_seconds > 0 else None
    log.info(
        "serving at revision %d with %d bindings (ready in %.2fs)%s",
        revision, len(index.bindings), time.perf_counter() - started,
        "" if worker is None else f" as worker {worker.number}",
    )
    if worker is None:
        print(f"authz: serving at revision {revision}", flush=True)
    else:
        worker.ready(revision)
    await stop.wait()
    # Shutting down: a repeated SIGTERM (or a SIGHUP) must not cut the grace period short, nor
    # kill the process once the loop has closed and restored the default handlers.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)
    for task in (watcher, prober, sweeper, follower, pruner, staleness, publisher, calls_publisher):
        if task is not None:
            task.cancel()
    listening.set()
    probe.close()
    log.info("stopping: finishing calls in flight (up to %.0fs)", settings.shutdown_grace_seconds)
    await health_servicer.enter_graceful_shutdown()
    backend.stopping.set()  # streams end now (UNAVAILABLE, saying where to resume), not at the grace's end
    metrics.SERVING.set(0)
    await server.stop(settings.shutdown_grace_seconds)
    if metrics.MULTIPROCESS_DIR:
        metrics.publish_calls()  # the calls finished during the grace period count too
    authorizer.close()
    log.info("stopped at revision %d", authorizer.revision)
