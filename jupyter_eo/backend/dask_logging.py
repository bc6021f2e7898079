"""Stop dask.distributed's import-time logging set-up from changing other libraries' loggers."""
from __future__ import annotations

import logging

# dask imports ``distributed`` (when installed) on the first ``compute()`` to look for a
# client; its import-time set-up then sets the ``tornado`` logger to CRITICAL (and
# ``tornado.application``/``bokeh`` to ERROR, without propagation), so the HTTP server's
# access lines for 4xx/5xx answers vanished after the first computation.
NO_CHANGES = {"version": 1, "incremental": True}  # a dictConfig that configures nothing


def keep_logging_levels() -> None:
    """Make distributed's logging set-up a no-op unless the user configured it.

    Must run before ``distributed`` is first imported; if it already was, its changes are
    left alone (whoever imported it chose them).
    """
    import dask.config

    configured = dask.config.get("distributed", default={}) or {}
    if "logging" in configured or "logging-file-config" in configured:
        return
    if "logging" in dask.config.config or "logging-file-config" in dask.config.config:
        return
    dask.config.set({"distributed.logging": dict(NO_CHANGES)})
    logging.getLogger(__name__).debug("distributed's logging set-up disabled")
