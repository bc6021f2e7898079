"""Synchronous processing: ``POST /result`` streams the written result file back."""
from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.backend.handlers.processes import process_graph_of
from jupyter_eo.errors import OpenEOError

CHUNK = 1024 * 1024
log = logging.getLogger("jupyter_eo.backend.http")


async def stream_file(handler: BaseHandler, path: Path) -> None:
    """Write ``path`` to the response in chunks without blocking the event loop for long.

    The file is opened first and sized from the open handle: a file removed before it is
    opened is a clean openEO error, one removed afterwards is still sent whole.
    """
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise OpenEOError(f"The file {path.name!r} was removed before it could be sent; "
                          "please send the request again.", code="Internal",
                          status=500) from None
    with handle:
        handler.set_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            handler.write(chunk)
            await handler.flush()
    handler.finish()


class _SharedFolder:
    """A temporary folder removed when its last holder (worker thread, request) releases it."""

    def __init__(self, path: Path, holders: int) -> None:
        self.path = path
        self._holders = holders
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            shutil.rmtree(self.path, ignore_errors=True)


class ResultHandler(BaseHandler):
    _cancel: threading.Event | None = None

    def on_connection_close(self) -> None:
        """The client went away: stop computing its result."""
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            log.info("POST /result cancelled: the client disconnected before the answer")
        super().on_connection_close()

    async def post(self) -> None:
        user = self.user
        pg = process_graph_of(await self.json_object())
        backend = self.backend
        limits = backend.config.limits
        tmp_root = backend.config.data_dir / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        out_dir = Path(tempfile.mkdtemp(prefix="result-", dir=tmp_root))
        cancel = self._cancel = threading.Event()
        # the worker may go on writing after a timeout: whichever of it and this request
        # finishes last removes the folder (removing it at the timeout let the worker
        # recreate it, leaving files behind in data_dir/tmp)
        folder = _SharedFolder(out_dir, holders=2)
        try:
            # run_sync's own cancel_event (set on timeout) is not passed on to the function:
            # the evaluation gets the same event explicitly
            run = functools.partial(backend.run_to_file, pg, user, out_dir, "result",
                                    max_pixels=limits.max_pixels, cancel_event=cancel)
            written = await backend.run_sync(run, cancel_event=cancel,
                                             timeout=limits.sync_timeout_s,
                                             on_done=folder.release)
            self.set_header("Content-Type", written.media_type)
            self.set_header("Content-Disposition", f'attachment; filename="{written.name}"')
            self.set_header("OpenEO-Costs", "0")
            await stream_file(self, written.path)
        finally:
            cancel.set()
            folder.release()
