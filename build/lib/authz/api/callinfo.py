"""Who is calling and which request this is, for the duration of one RPC (set by interceptors)."""

from __future__ import annotations

from contextvars import ContextVar

caller: ContextVar[str] = ContextVar("caller", default="anonymous")
request_id: ContextVar[str] = ContextVar("request_id", default="")
