"""Running lazy results: local thread pool, or an existing dask.distributed scheduler."""
from __future__ import annotations

import threading
from typing import Any

from jupyter_eo.backend.engine.context import EvalContext, SaveResult

_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


def client_for(address: str) -> Any:
    """A cached ``distributed.Client`` connected to an existing scheduler (never starts one)."""
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is None or client.status in ("closed", "closing"):
            from distributed import Client

            client = Client(address, set_as_default=False)
            _CLIENTS[address] = client
        return client


def close_clients() -> None:
    """Close every cached client (for tests and shutdown)."""
    with _LOCK:
        for client in _CLIENTS.values():
            client.close()
        _CLIENTS.clear()


def materialize(value: Any, ctx: EvalContext | None = None) -> Any:
    """Compute dask-backed data inside ``value`` (DataArray, SaveResult, vector cube)."""
    if isinstance(value, SaveResult):
        return SaveResult(materialize(value.data, ctx), value.format, value.options)
    if hasattr(value, "materialize"):
        return value.materialize(ctx)
    if not hasattr(value, "chunks") or getattr(value, "chunks", None) is None:
        return value
    address = ctx.dask_address if ctx is not None else None
    if address:
        client = client_for(address)
        return client.compute(value).result()
    return value.compute(scheduler="threads")
