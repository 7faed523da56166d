"""`authz serve --workers N` (N > 1): one supervisor process and N workers on one gRPC port.

The supervisor reads the configuration, the policy and the tokens, refuses a port that another
program listens on (the same probe as a lone `authz serve`, a socket without SO_REUSEPORT) and
then holds the port with a bound, not listening socket, also without SO_REUSEPORT: while it runs,
a program that does not itself ask for SO_REUSEPORT cannot bind it. It migrates the database and
loads the index once, moves the loaded objects out of the garbage collector's reach
(`gc.freeze`, so that no collection writes to their pages) and forks the workers, which share
those pages copy-on-write. Nothing of gRPC is created before the fork (its core does not survive
one): each worker makes its own gRPC server, Authorizer, health service and database probe by
the normal serving path (`authz.server.serve`), from the revision it was forked at. The workers
listen on the port with SO_REUSEPORT, and the kernel spreads connections among them. Linux lets
only sockets of the same user share a port that way: another user's program cannot join, and
another `authz serve` (or anything that first binds without SO_REUSEPORT) is refused.

Metrics: prometheus_client's multiprocess mode, in a temporary directory the supervisor makes
(PROMETHEUS_MULTIPROC_DIR, set before prometheus_client is imported) and removes; the supervisor
alone serves `--metrics-address`, summing the workers' counters (authz/metrics.py says how each
gauge combines). A worker that dies is marked dead there (its gauges go; its counts stay).

Supervision: SIGTERM and SIGINT are passed to every worker, which stops as a lone server does,
finishing calls in flight for up to --shutdown-grace-seconds; the supervisor then exits 0. SIGHUP
(reload the policy) is passed to every worker. A worker that exits before it serves ends the
start-up: the others are stopped and the supervisor exits with the worker's reason (exit 2 for a
configuration error, such as a port it could not bind). A worker that exits after it served is
logged and forked again from the index the supervisor loaded; it catches up from that revision
by following the database, as every replica does."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from authz.config import Settings
from authz.domain.errors import ConfigError

if TYPE_CHECKING:
    from authz.server import Prepared

log = logging.getLogger("authz")

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
HANDLED = (*FORWARDED, signal.SIGCHLD)
# How long after the grace period a stopping worker is waited for before it is killed.
STOP_MARGIN_SECONDS = 20.0


@dataclass
class Child:
    number: int
    pid: int
    report: int  # the read end of the worker's pipe: "ready REVISION" or "error MESSAGE" lines
    buffer: bytes = b""
    served: bool = False
    error: str = ""
    revision: int = 0


class Supervisor:
    def __init__(self, settings: Settings, directory: str) -> None:
        self.settings = settings
        self.directory = directory
        self.children: dict[int, Child] = {}  # by pid
        self.pending: list[int] = []  # signal numbers received, not yet handled
        self.stopping = False
        self.stop_deadline = 0.0
        self.failure: tuple[int, str] | None = None  # (exit code, message) of a start-up that failed
        self.announced = False

    # ---- start-up, in the supervisor

    def prepare(self) -> None:
        # Imported here, not at the top: prometheus_client must see PROMETHEUS_MULTIPROC_DIR,
        # which `metrics_directory` sets, when it is first imported (by authz.metrics).
        from authz import metrics, server
        from authz.service.authorizer import load_index
        from authz.storage.sql import SqlStorage

        self.server, self.metrics = server, metrics
        metrics.worker_gone(os.getpid())  # the supervisor's own gauges (never set) must not count as live
        self.prepared: Prepared = server.prepare(self.settings)
        self.hold, self.port = hold_port(self.settings.grpc_address)
        self.host, _ = server._split(self.settings.grpc_address)
        warning = server.exposure_warning(self.settings, self.host)
        if warning:
            log.warning(warning)
        started = time.perf_counter()
        storage = SqlStorage(self.settings.database_url)
        try:
            storage.migrate()
            self.index, self.revision = load_index(storage)
        finally:
            storage.close()
        gc.collect()
        gc.freeze()  # the loaded index stays out of every collection, here and in the workers
        log.info("loaded revision %d with %d bindings in %.2fs; starting %d workers", self.revision,
                 len(self.index.bindings), time.perf_counter() - started, self.settings.workers)
        self.httpd = None
        if self.settings.metrics_address:
            self.httpd = server.serve_metrics(self.settings, metrics.supervisor_registry(self.directory))

    def start(self, number: int) -> None:
        read, write = os.pipe()
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(read)
                self._worker(number, write)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
        os.close(write)
        os.set_blocking(read, False)
        self.children[pid] = Child(number, pid, read)
        log.info("worker %d started (pid %d)", number, pid)

    # ---- in a worker, after the fork

    def _worker(self, number: int, write: int) -> NoReturn:
        code = 1
        report = os.fdopen(write, "w", buffering=1)
        try:
            signal.set_wakeup_fd(-1)
            for signum in HANDLED:
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)
            for child in self.children.values():
                os.close(child.report)
            os.close(self.wake)
            self.hold.close()
            if self.httpd is not None:
                self.httpd.socket.close()
            def ready(revision: int) -> None:
                report.write(f"ready {revision}\n")

            worker = self.server.Worker(number, self.port, self.prepared, self.index, self.revision, ready)
            asyncio.run(self.server.serve(self.settings, worker))
            code = 0
        except ConfigError as error:
            report.write(f"error {error.message}\n")
            code = 2
        except KeyboardInterrupt:
            code = 0
        except BaseException:  # noqa: BLE001 -- a worker's every failure ends it, with its traceback
            traceback.print_exc()
        finally:
            for stream in (report, sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(code)

    # ---- the supervisor's loop

    def run(self) -> int:
        wake_read, self.wake = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(self.wake, False)
        signal.set_wakeup_fd(self.wake)
        for signum in HANDLED:
            signal.signal(signum, lambda number, frame: self.pending.append(number))
        for number in range(1, self.settings.workers + 1):
            self.start(number)
        while self.children:
            timeout = None
            if self.stopping:
                timeout = max(0.0, self.stop_deadline - time.monotonic())
            readable, _, _ = select.select([wake_read, *(c.report for c in self.children.values())], [], [], timeout)
            if wake_read in readable:
                _drain(wake_read)
            for child in list(self.children.values()):
                self._read(child)
            self._reap()
            received, self.pending = self.pending, []
            for number in received:
                if number in (signal.SIGTERM, signal.SIGINT):
                    self.stop(f"stopping on {signal.Signals(number).name}")
                elif number == signal.SIGHUP:
                    self._signal_all(signal.SIGHUP)
            if self.stopping and time.monotonic() >= self.stop_deadline:
                for child in self.children.values():
                    log.warning("worker %d (pid %d) did not stop in time; killing it", child.number, child.pid)
                    _kill(child.pid, signal.SIGKILL)
                self.stop_deadline = float("inf")
            if not self.announced and not self.stopping and all(c.served for c in self.children.values()):
                self.announced = True
                revision = min(c.revision for c in self.children.values())
                tls = " (tls)" if self.prepared.tls else ""
                print(f"authz: grpc listening on {self.host}:{self.port}{tls}", flush=True)
                log.info("serving with %d workers", len(self.children))
                print(f"authz: serving at revision {revision}", flush=True)
        os.close(wake_read)
        os.close(self.wake)
        signal.set_wakeup_fd(-1)
        if self.failure is not None:
            code, message = self.failure
            if code == 2:
                raise ConfigError(message)
            print(f"authz serve: {message}", file=sys.stderr)
            return 1
        log.info("stopped")
        return 0

    def stop(self, why: str) -> None:
        if not self.stopping:
            log.info("%s: stopping %d workers", why, len(self.children))
            self.stopping = True
            self.stop_deadline = time.monotonic() + self.settings.shutdown_grace_seconds + STOP_MARGIN_SECONDS
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in self.children:
            _kill(pid, signum)

    def _read(self, child: Child) -> None:
        try:
            data = os.read(child.report, 65536)
        except BlockingIOError:
            return
        child.buffer += data
        *lines, child.buffer = child.buffer.split(b"\n")
        for raw in lines:
            line = raw.decode(errors="replace")
            verb, _, rest = line.partition(" ")
            if verb == "ready":
                child.revision = int(rest)
                if child.served:
                    continue
                child.served = True
                if self.announced:
                    log.info("worker %d (pid %d) serves again, at revision %d", child.number, child.pid, child.revision)
            elif verb == "error":
                child.error = rest

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self._read(child)
            os.close(child.report)
            self.metrics.worker_gone(pid)
            code = os.waitstatus_to_exitcode(status)
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
            if self.stopping:
                log.info("worker %d (pid %d) %s", child.number, pid, how)
            elif not child.served:
                self.failure = (2 if child.error else 1,
                                child.error or f"worker {child.number} {how} before it served (its log says why)")
                self.stop(f"worker {child.number} failed to start")
            else:
                log.warning("worker %d (pid %d) %s; starting it again", child.number, pid, how)
                self.start(child.number)

    def close(self) -> None:
        httpd = getattr(self, "httpd", None)
        if httpd is not None:
            httpd.shutdown()
        if getattr(self, "hold", None) is not None:
            self.hold.close()


def hold_port(address: str) -> tuple[socket.socket, int]:
    """A socket bound to `address` (its port chosen by the kernel for port 0), without
    SO_REUSEPORT and not listening; ConfigError when the address cannot be bound."""
    from authz import server

    refused = server.port_in_use(address)
    if refused:
        raise refused
    host, port = server._split(address)
    family, kind, proto, _, where = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                       flags=socket.AI_PASSIVE)[0]
    held = socket.socket(family, kind, proto)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        held.bind(where)
    except OSError as error:
        held.close()
        raise ConfigError(f"cannot listen for gRPC on {address}: {error.strerror} "
                          f"{Settings.named('grpc_address')}") from None
    return held, held.getsockname()[1]


def metrics_directory() -> str:
    """A new directory for the workers' metrics, set as PROMETHEUS_MULTIPROC_DIR: call it before
    anything imports prometheus_client (authz.server, authz.metrics)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the workers' metrics directory was set")
    directory = tempfile.mkdtemp(prefix="authz-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    return directory


def supervise(settings: Settings, directory: str) -> int:
    """Run the supervisor until its workers have stopped; removes `directory` (metrics_directory's)."""
    supervisor = Supervisor(settings, directory)
    try:
        supervisor.prepare()
        return supervisor.run()
    finally:
        supervisor.close()
        shutil.rmtree(directory, ignore_errors=True)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
