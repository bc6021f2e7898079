"""Running lazy results: local thread pool, or an existing dask.distributed scheduler."""
from __future__ import annotations

import threading
from typing import Any

from jupyter_eo.backend.engine.context import EvalContext, SaveResult

_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()
CANCEL_POLL_S = 0.1  # how often a cluster computation checks the caller's cancel event


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
        return _compute_on_cluster(client_for(address), value, ctx)
    return value.compute(scheduler="threads")


def _compute_on_cluster(client: Any, value: Any, ctx: EvalContext) -> Any:
    """``value`` computed by the cluster's workers; only the result comes back to this process.

    The future is cancelled on the scheduler when the caller cancels (client disconnect,
    request timeout, job cancel) or anything else ends the wait, so no task keeps running.
    """
    future = client.compute(value)
    finished = threading.Event()
    future.add_done_callback(lambda _: finished.set())
    try:
        # wait for the tasks, then gather once: a timeout on result() itself would restart
        # the transfer of a large result again and again
        while not finished.wait(CANCEL_POLL_S):
            ctx.check_cancel()
        ctx.check_cancel()
        return future.result()
    finally:
        if not future.done() or future.status != "finished":
            future.cancel()
        future.release()
