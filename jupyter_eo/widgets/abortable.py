"""Synchronous openEO client calls that another thread can abort by shutting their sockets down."""
from __future__ import annotations

import copy
import socket
import threading
from collections import OrderedDict
from typing import Any, Callable, TypeVar

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

T = TypeVar("T")
_current = threading.local()  # the AbortHandle of the call running on this thread


class AbortHandle:
    """The sockets one call opened; ``abort()`` (any thread) shuts them down, now and later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.aborted = False

    def register(self, sock: Any) -> None:
        with self._lock:
            if not self.aborted:
                self._sockets.append(sock)
                return
        _shutdown(sock)  # aborted before this connection was made

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: Any) -> None:
    """Wake a thread blocked reading ``sock``: the peer sees the connection close."""
    try:
        # the plain socket method also for TLS sockets: their own shutdown() drops the
        # SSL object under the feet of the reading thread
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError):
        pass


def _register(conn: Any) -> None:
    handle = getattr(_current, "handle", None)
    if handle is not None and conn.sock is not None:
        handle.register(conn.sock)


class _TrackedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register(self)


class _TrackedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register(self)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection  # type: ignore[assignment]


class _TrackedAdapter(HTTPAdapter):
    """A fresh pool whose new connections report their sockets to the thread's handle."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool,
                                                   "https": _TrackedHTTPSPool}


def _tracked_session(session: Any, root_url: str) -> tuple[Any, HTTPAdapter]:
    """A shallow twin of ``session`` (same class, headers, auth, cookies, TLS settings) whose
    requests go through a private tracked adapter; the original session is not modified."""
    base = session.get_adapter(root_url)
    adapter = _TrackedAdapter(max_retries=getattr(base, "max_retries", 0))
    twin = object.__new__(type(session))
    twin.__dict__.update(session.__dict__)
    twin.adapters = OrderedDict()
    twin.mount("https://", adapter)
    twin.mount("http://", adapter)
    return twin, adapter


def supports_abort(connection: Any) -> bool:
    """True for ``openeo`` connections (a ``requests`` session and a root URL)."""
    from requests import Session

    return isinstance(getattr(connection, "session", None), Session) and \
        isinstance(getattr(connection, "root_url", None), str)


def abortable_call(connection: Any, call: Callable[[Any], T], handle: AbortHandle) -> T:
    """``call(twin)`` on a twin of ``connection`` using its own HTTP connection, which
    ``handle.abort()`` from another thread closes (the call then raises a connection error and
    the backend sees the client go away). The twin's connection is closed afterwards."""
    session, adapter = _tracked_session(connection.session, connection.root_url)
    twin = copy.copy(connection)
    twin.session = session
    previous = getattr(_current, "handle", None)
    _current.handle = handle
    try:
        return call(twin)
    finally:
        _current.handle = previous
        adapter.close()
