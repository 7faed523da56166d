"""A real grpc.aio server inside the test process: the same registration as `authz serve`
(interceptors.registrar and authz.server.add_services) over a Backend whose Authorizer holds a
storage that is not SQL (memory_storage.py, or one a test gives). Its event loop runs on a
thread of its own; tests call it through ordinary synchronous stubs, and reach the Authorizer
on its loop with `call`."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import grpc
import grpc.aio

from authz._gen.authz.v1 import (
    authorization_pb2_grpc,
    changes_pb2_grpc,
    diagnostics_pb2_grpc,
    directory_pb2_grpc,
    policy_pb2_grpc,
)
from authz.api import interceptors
from authz.api.backend import Backend
from authz.api.interceptors.auth import Tokens
from authz.api.limits import Limits
from authz.engine.policy_files import load_policy
from authz.server import add_services
from authz.service.authorizer import DEFAULT_WRITE_TIMEOUT, Authorizer, load_index
from authz.service.reload import PolicyReloader
from authz.storage.base import Storage

from .memory_storage import MemoryStorage

T = TypeVar("T")
log = logging.getLogger("authz")


class InProcessServer:
    """Start with `start()`, stop with `stop()`. `ready=False` leaves the index "loading" (the
    Backend has no Authorizer: UNAVAILABLE) until `make_ready()`."""

    def __init__(self, policies: Path, storage: Storage | None = None, tokens: Tokens | None = None,
                 limits: Limits | None = None, clock: Callable[[], float] | None = None,
                 write_timeout: float | None = None) -> None:
        self.policies = policies
        self.storage: Storage = storage or MemoryStorage()
        self.tokens = tokens or Tokens(admin="admin-token")
        self.backend = Backend(limits or Limits())
        self.clock = clock
        self.write_timeout = write_timeout
        self.authorizer: Authorizer | None = None
        self.reloader: PolicyReloader | None = None
        self.address = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="in-process-grpc", daemon=True)
        self._server: grpc.aio.Server | None = None
        self._policy_servicer: Any = None
        self.channel: grpc.Channel | None = None

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run `coroutine` on the server's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def run(self, work: Callable[[], T]) -> T:
        """`work()` on the server's event loop (between two of its steps: no request is half done)."""
        async def inside() -> T:
            return work()

        return self.call(inside())

    def start(self, ready: bool = True) -> InProcessServer:
        self._thread.start()
        self.call(self._start())
        self.channel = grpc.insecure_channel(self.address)
        if ready:
            self.make_ready()
        return self

    async def _start(self) -> None:
        self.storage.migrate()
        server = grpc.aio.server()
        self._policy_servicer = add_services(interceptors.registrar(server, self.tokens, log), self.backend)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        self.address = f"127.0.0.1:{port}"

    def make_ready(self) -> Authorizer:
        """Load the index from storage and hand the Authorizer to the servicers, as serve does."""
        async def ready() -> Authorizer:
            index, revision = load_index(self.storage)
            authorizer = Authorizer(self.storage, load_policy(self.policies), index, revision,
                                    clock=self.clock or time.time, write_timeout=self.write_timeout or DEFAULT_WRITE_TIMEOUT)
            self.backend.ready(authorizer)
            self.reloader = PolicyReloader(authorizer, self.policies, 0)
            self._policy_servicer.reloader = self.reloader
            return authorizer

        self.authorizer = self.call(ready())
        return self.authorizer

    def stub(self, service: str) -> Any:
        """A stub of "authorization", "directory", "policy", "diagnostics" or "changes" on the channel."""
        modules = {"authorization": (authorization_pb2_grpc, "AuthorizationServiceStub"),
                   "changes": (changes_pb2_grpc, "ChangeServiceStub"),
                   "directory": (directory_pb2_grpc, "DirectoryServiceStub"),
                   "policy": (policy_pb2_grpc, "PolicyServiceStub"),
                   "diagnostics": (diagnostics_pb2_grpc, "DiagnosticsServiceStub")}
        module, name = modules[service]
        return getattr(module, name)(self.channel)

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        shadow = self.backend.shadow
        if shadow is not None:
            self.run(lambda: shadow.end("the server stopped"))
        if self._server is not None:
            self.call(self._server.stop(0))
        if self.authorizer is not None:
            self.authorizer.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
