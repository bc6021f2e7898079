"""Runs code in a kernel of a remote Jupyter server over its REST API and kernel websocket."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect


@dataclass
class CellResult:
    code: str
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def text(self) -> str:
        parts = []
        for out in self.outputs:
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
        return "".join(parts)


class RemoteKernel:
    """A kernel started through ``{server_url}api/kernels``; every message received is kept."""

    def __init__(self, server_url: str, token: str) -> None:
        self.server_url = server_url if server_url.endswith("/") else server_url + "/"
        self.headers = {"Authorization": f"token {token}"}
        self.session = uuid.uuid4().hex
        self.kernel_id = ""
        self.messages: list[dict[str, Any]] = []  # everything the kernel sent (incl. comms)
        self._ws: Any = None
        self.http = AsyncHTTPClient(force_instance=True)

    async def start(self, timeout: float = 120.0) -> None:
        response = await self.http.fetch(HTTPRequest(
            self.server_url + "api/kernels", method="POST", body=json.dumps({"name": "python3"}),
            headers=self.headers, request_timeout=timeout))
        self.kernel_id = json.loads(response.body)["id"]
        ws_url = (self.server_url.replace("http://", "ws://") + f"api/kernels/{self.kernel_id}"
                  f"/channels?session_id={self.session}")
        self._ws = await websocket_connect(HTTPRequest(ws_url, headers=self.headers,
                                                       request_timeout=timeout),
                                           max_message_size=64 * 1024 ** 2)

    async def execute(self, code: str, timeout: float = 180.0) -> CellResult:
        msg_id = uuid.uuid4().hex
        await self._ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": dt.datetime.now(dt.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        result = CellResult(code)
        idle = replied = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (idle and replied):
            raw = await asyncio.wait_for(self._ws.read_message(), max(0.1, deadline - loop.time()))
            if raw is None:
                raise RuntimeError("kernel websocket closed")
            if isinstance(raw, bytes):
                continue  # binary frames: widget buffers; not used here
            msg = json.loads(raw)
            self.messages.append(msg)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["header"]["msg_type"], msg["content"]
            if msg["channel"] == "shell" and kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "stream":
                result.outputs.append({"output_type": "stream", "name": content["name"],
                                       "text": content["text"]})
            elif kind in ("execute_result", "display_data"):
                result.outputs.append({"output_type": kind, "data": content["data"],
                                       "metadata": content.get("metadata", {}),
                                       **({"execution_count": content["execution_count"]}
                                          if kind == "execute_result" else {})})
            elif kind == "error":
                result.error = f"{content['ename']}: {content['evalue']}"
                result.outputs.append({"output_type": "error", "ename": content["ename"],
                                       "evalue": content["evalue"],
                                       "traceback": content["traceback"]})
        return result

    async def shutdown(self) -> None:
        if self._ws is not None:
            self._ws.close()
        if self.kernel_id:
            await self.http.fetch(HTTPRequest(self.server_url + f"api/kernels/{self.kernel_id}",
                                              method="DELETE", headers=self.headers),
                                  raise_error=False)
        self.http.close()
