"""Synchronous processing: ``POST /result`` streams the written result file back."""
from __future__ import annotations

import functools
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.backend.handlers.processes import process_graph_of

CHUNK = 1024 * 1024
log = logging.getLogger("jupyter_eo.backend.http")


async def stream_file(handler: BaseHandler, path: Path) -> None:
    """Write ``path`` to the response in chunks without blocking the event loop for long."""
    handler.set_header("Content-Length", str(path.stat().st_size))
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            handler.write(chunk)
            await handler.flush()
    handler.finish()


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
        try:
            # run_sync's own cancel_event (set on timeout) is not passed on to the function:
            # the evaluation gets the same event explicitly
            run = functools.partial(backend.run_to_file, pg, user, out_dir, "result",
                                    max_pixels=limits.max_pixels, cancel_event=cancel)
            written = await backend.run_sync(run, cancel_event=cancel,
                                             timeout=limits.sync_timeout_s)
            self.set_header("Content-Type", written.media_type)
            self.set_header("Content-Disposition", f'attachment; filename="{written.name}"')
            self.set_header("OpenEO-Costs", "0")
            await stream_file(self, written.path)
        finally:
            cancel.set()
            shutil.rmtree(out_dir, ignore_errors=True)
