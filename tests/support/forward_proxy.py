"""A small loopback HTTP forward proxy for tests: CONNECT tunnels and absolute-URI requests, recorded.

Usage::

    from tests.support.forward_proxy import forward_proxy

    with forward_proxy() as proxy:               # listens on 127.0.0.1:<free port>
        env = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url}
        ...                                      # run the code under test with env
        proxy.wait_for(lambda r: r.host == "127.0.0.1" and r.port == up_port)
        assert any(r.path == "/credentials/basic" for r in proxy.requests)

Each forwarded request (or refused tunnel) is a :class:`ProxiedRequest`: ``method`` (``CONNECT``
for tunnels), ``target`` (absolute URI or ``host:port``), ``host``, ``port``, ``path`` (None inside
tunnels, where the proxy sees only encrypted bytes), ``status`` the proxy answered itself (502/504
when the target could not be reached, else None) and ``proxy_authorization``. The proxy runs its
own asyncio loop in a daemon thread, so it serves pytest-jupyter servers, subprocesses and
browsers alike. ``require_auth="user:pw"`` answers 407 to requests without those credentials.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 5.0


@dataclass
class ProxiedRequest:
    method: str
    target: str
    host: str
    port: int
    path: str | None
    status: int | None = None
    proxy_authorization: str = ""


@dataclass
class ForwardProxy:
    """A running proxy: ``url`` (``http://127.0.0.1:PORT``) and the ``requests`` it handled."""

    url: str = ""
    port: int = 0
    require_auth: str = ""
    requests: list[ProxiedRequest] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def _record(self, item: ProxiedRequest) -> None:
        with self._changed:
            self.requests.append(item)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[ProxiedRequest], bool],
                 timeout: float = 10.0) -> ProxiedRequest:
        """The first recorded request matching ``predicate``; AssertionError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self.requests:
                    if predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the proxy saw no matching request in {timeout} s; "
                                         f"saw {self.requests}")
                self._changed.wait(left)

    def saw(self, host: str, port: int) -> list[ProxiedRequest]:
        """Requests that went to ``host:port``."""
        with self._changed:
            return [r for r in self.requests if r.host == host and r.port == port]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def _failure(exc: BaseException) -> tuple[int, str]:
    if isinstance(exc, asyncio.TimeoutError):
        return 504, "Gateway Timeout"
    if isinstance(exc, socket.gaierror):
        return 502, "Bad Gateway (name not resolved)"
    if isinstance(exc, ConnectionRefusedError):
        return 502, "Bad Gateway (connection refused)"
    return 502, "Bad Gateway"


class _Server:
    def __init__(self, state: ForwardProxy) -> None:
        self.state = state

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = [line for line in lines[1:] if line]
        auth = next((h.split(":", 1)[1].strip() for h in headers
                     if h.lower().startswith("proxy-authorization:")), "")
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host, port, path = host.strip("[]"), int(port_text or 443), None
        else:
            parts = urlsplit(target)
            host, port = parts.hostname or "", parts.port or 80
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        item = ProxiedRequest(method, target, host, port, path, proxy_authorization=auth)
        if self.state.require_auth:
            expected = "Basic " + base64.b64encode(self.state.require_auth.encode()).decode()
            if auth != expected:
                item.status = 407
                self.state._record(item)
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                writer.close()
                return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                          CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError) as exc:
            item.status, reason = _failure(exc)
            self.state._record(item)
            writer.write(f"HTTP/1.1 {item.status} {reason}\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n".encode())
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()
            return
        self.state._record(item)
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
        else:
            kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in
                    ("proxy-authorization", "proxy-connection", "connection", "keep-alive")]
            request = [f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]
            up_writer.write("\r\n".join(request).encode("latin-1"))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


@contextlib.contextmanager
def forward_proxy(require_auth: str = "") -> Iterator[ForwardProxy]:
    """Start a forward proxy on 127.0.0.1:<free port> for the ``with`` block."""
    state = ForwardProxy(require_auth=require_auth)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, asyncio.AbstractServer] = {}

    async def start() -> None:
        server = await asyncio.start_server(_Server(state).handle, "127.0.0.1", 0)
        holder["server"] = server
        state.port = server.sockets[0].getsockname()[1]
        state.url = f"http://127.0.0.1:{state.port}"
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="forward-proxy", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the forward proxy did not start")
    try:
        yield state
    finally:
        async def stop() -> None:
            holder["server"].close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
