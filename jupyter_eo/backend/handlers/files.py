"""User workspace files: ``GET /files`` and ``/files/{path}`` GET/PUT/DELETE (streamed uploads)."""
from __future__ import annotations

from pathlib import Path
from typing import IO

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.backend.handlers.results import stream_file
from jupyter_eo.errors import FileSizeExceeded, PayloadTooLarge


class FilesHandler(BaseHandler):
    def get(self) -> None:
        files, links = self.page(self.backend.workspace(self.user).list(), "files")
        self.write_json({"files": files, "links": links})


class FileHandler(BaseHandler):
    body_limit_attr = "max_upload_bytes"

    def prepare(self) -> None:
        self._upload: IO[bytes] | None = None
        self._target: Path | None = None
        self._tmp: Path | None = None
        self._too_big = False
        # authenticate and check the path before any body byte is read
        workspace = self.backend.workspace(self.user)
        path = self.path_args[0] if self.path_args else ""
        self._target = workspace.resolve(path)
        try:
            super().prepare()
        except PayloadTooLarge as exc:
            raise FileSizeExceeded(exc.message) from None
        if self.request.method == "PUT":
            self._tmp = workspace.temp_for(self._target)
            self._upload = self._tmp.open("wb")

    def data_received(self, chunk: bytes) -> None:
        if self._upload is None:
            return
        self._received += len(chunk)
        if self._received > self.body_limit():
            self._too_big = True
            return
        self._upload.write(chunk)

    def on_finish(self) -> None:
        self._cleanup()

    def on_connection_close(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        if self._upload is not None:
            self._upload.close()
            self._upload = None
        if self._tmp is not None and self._tmp.exists():
            self._tmp.unlink(missing_ok=True)

    async def get(self, path: str) -> None:
        target = self.backend.workspace(self.user).existing_file(path)
        self.set_header("Content-Type", "application/octet-stream")
        await stream_file(self, target)

    def put(self, path: str) -> None:
        assert self._upload is not None and self._tmp is not None and self._target is not None
        self._upload.close()
        self._upload = None
        if self._too_big:
            raise FileSizeExceeded(f"File size is too large. Maximum file size: "
                                   f"{self.body_limit()} bytes.")
        info = self.backend.workspace(self.user).commit(self._tmp, self._target)
        self._tmp = None
        self.write_json(info)

    def delete(self, path: str) -> None:
        self.backend.workspace(self.user).delete(path)
        self.set_status(204)
        self.finish()
