"""How kernel code and scripts reach the server: server URL, channel headers and ``connect``."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from .server.channel import ENV_SECRET, ENV_URL, SECRET_HEADER

PROXY_PREFIX = "jupyter-eo/openeo/"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
STANDALONE_STATE_ID = "standalone"


def server_url() -> str | None:
    """The URL (with base_url, ending in '/') of the Jupyter server that launched this kernel."""
    url = os.environ.get(ENV_URL)
    return url or None


def channel_headers() -> dict[str, str]:
    """Headers that authenticate kernel code to jupyter_eo's handlers (empty outside Jupyter)."""
    secret = os.environ.get(ENV_SECRET)
    return {SECRET_HEADER: secret} if secret else {}


def proxy_url(backend_id: str = "local") -> str | None:
    """The kernel-side URL of the server's openEO proxy for ``backend_id`` (None outside Jupyter)."""
    url = server_url()
    if not url:
        return None
    return f"{url}{PROXY_PREFIX}{backend_id}/"


def browser_url(url: str) -> str:
    """A proxy URL as the browser should load it: origin-relative (``/base_url/jupyter-eo/...``).

    Kernels reach the server at ``http://127.0.0.1:<port>``; the browser may use another host
    (JupyterHub, a tunnel). Tile URLs of XYZ services given to ``ipyleaflet.TileLayer`` must
    therefore be origin-relative so the lab's own cookie authenticates them.
    """
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _under(url: str, prefix: str) -> bool:
    u, p = urlsplit(url), urlsplit(prefix)
    if (u.scheme, u.netloc) != (p.scheme, p.netloc):
        return False
    segments = u.path.split("/")
    return u.path.startswith(p.path) and ".." not in segments and "." not in segments


def _channel_session(prefix: str, headers: dict[str, str]) -> Any:
    """A ``requests`` session adding the channel secret only to requests under ``prefix``."""
    import requests

    class ChannelSession(requests.Session):
        """Sends the kernel secret to the proxy only, never to other hosts (also on redirects)."""

        def __init__(self) -> None:
            super().__init__()
            self.trust_env = False  # no environment proxies or netrc for a loopback secret

        def prepare_request(self, request: Any) -> Any:
            prepared = super().prepare_request(request)
            self._apply(prepared)
            return prepared

        def rebuild_auth(self, prepared_request: Any, response: Any) -> None:
            super().rebuild_auth(prepared_request, response)
            self._apply(prepared_request)

        def _apply(self, prepared: Any) -> None:
            for name in headers:
                prepared.headers.pop(name, None)
            if _under(prepared.url, prefix):
                prepared.headers.update(headers)

    return ChannelSession()


def _warn_if_logged_out(backend_id: str, headers: dict[str, str]) -> None:
    """Tell the user to log in via the sidebar when the server holds no login for the backend."""
    import warnings

    import requests

    session = requests.Session()
    session.trust_env = False  # loopback, with the secret: no environment proxies
    try:
        response = session.get(f"{server_url()}jupyter-eo/api/backends/{backend_id}/login",
                               headers=headers, timeout=10)
        state = response.json().get("state") if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return
    finally:
        session.close()
    if state in ("logged_out", "error"):
        warnings.warn(f"Not logged in to openEO backend {backend_id!r}: log in with the openEO "
                      "backends panel in the JupyterLab sidebar or call authenticate_oidc() / "
                      "authenticate_basic(...) on this connection (the Jupyter server runs the "
                      "login); until then only public endpoints work.", stacklevel=4)


def _proxied_connection(backend_id: str, url: str, headers: dict[str, str],
                        kwargs: dict[str, Any]) -> Any:
    """A connection through the proxy; its ``authenticate_*()`` log in on the server."""
    from .kernel_login import ProxiedConnection, ServerLogin

    auth_type, auth_options = kwargs.pop("auth_type", None), kwargs.pop("auth_options", None)
    if auth_type is None:
        _warn_if_logged_out(backend_id, headers)
    login = ServerLogin(server_url() or "", backend_id, headers)
    connection = ProxiedConnection(url, session=_channel_session(url, headers),
                                   server_login=login, **kwargs)
    if auth_type == "basic":
        connection.authenticate_basic(**(auth_options or {}))
    elif auth_type == "oidc":
        connection.authenticate_oidc(**(auth_options or {}))
    elif auth_type is not None:
        raise ValueError(f"unknown auth_type {auth_type!r} (use 'basic' or 'oidc')")
    return connection


def connect(backend_id: str = "local", **kwargs: Any) -> Any:
    """An ``openeo.Connection`` to ``backend_id``, already authenticated as the user.

    In a kernel started by a Jupyter server with jupyter_eo, every request goes through the
    server's proxy (``{base_url}jupyter-eo/openeo/<backend_id>/``), which injects the user's
    credentials; the kernel holds no backend token. Its ``authenticate_oidc()``,
    ``authenticate_basic(user, password)`` and ``authenticate_oidc_client_credentials()`` start
    the login on the server (a device-flow prompt is shown in the notebook output). Outside Jupyter only ``"local"`` works: a
    standalone embedded backend (``jupyter-eo serve``) is started or reused. Extra keyword
    arguments go to ``openeo.connect`` (e.g. ``default_timeout``).
    """
    import openeo

    if not isinstance(backend_id, str) or not _ID_RE.match(backend_id):
        raise ValueError(f"invalid backend id {backend_id!r}")
    url, headers = proxy_url(backend_id), channel_headers()
    if url and headers:
        return _proxied_connection(backend_id, url, headers, kwargs)
    if backend_id != "local":
        raise RuntimeError(f"backend {backend_id!r} is only reachable from a Jupyter kernel "
                           "(through the jupyter_eo proxy); outside Jupyter use "
                           "openeo.connect(url) and authenticate yourself")
    info = ensure_standalone()
    connection = openeo.connect(info["url"], **kwargs)
    connection.authenticate_basic(info["user"], info["password"])
    return connection


# -- standalone embedded backend (outside Jupyter) ---------------------------------------------
def _standalone_dirs() -> tuple[Path, Any]:
    from jupyter_core.paths import jupyter_data_dir

    from .server.credentials import TokenStore

    root = Path(jupyter_data_dir()) / "jupyter_eo"
    return root / "standalone-backend", TokenStore(root / "standalone-state")


def _alive(info: dict[str, Any]) -> bool:
    import requests

    pid = info.get("pid")
    try:
        os.kill(int(pid), 0)  # type: ignore[arg-type]
    except (OSError, TypeError, ValueError):
        return False
    try:
        response = requests.get(str(info.get("url", "")) + ".well-known/openeo", timeout=3)
        return response.status_code == 200
    except requests.RequestException:
        return False


_STANDALONE_THREADS = threading.Lock()


@contextmanager
def _standalone_lock(data_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the standalone backend's start/stop lock (threads of this process and other
    processes alike): an ``fcntl.flock`` on ``standalone.lock`` next to the state."""
    import fcntl

    deadline = time.monotonic() + timeout
    if not _STANDALONE_THREADS.acquire(timeout=max(timeout, 0.0)):
        raise RuntimeError("timed out waiting for another thread starting the standalone "
                           "backend")
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC (Python's default): the server started under the lock does not inherit it
        fd = os.open(data_dir.parent / "standalone.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RuntimeError("timed out waiting for another process starting "
                                           "the standalone backend") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the flock
    finally:
        _STANDALONE_THREADS.release()


def ensure_standalone(timeout: float = 120.0) -> dict[str, Any]:
    """Start (or reuse) the standalone embedded backend; returns {url, user, password, pid}.

    The state (URL, pid, credential) is kept in a 0600 file in a 0700 directory under the
    Jupyter data dir; the backend keeps running for later scripts until
    :func:`stop_standalone`.
    """
    data_dir, store = _standalone_dirs()
    # one caller at a time (threads or processes): a second one reuses the first one's server
    # instead of starting another (leaked) one and truncating its log
    with _standalone_lock(data_dir, timeout):
        return _ensure_standalone_locked(data_dir, store, timeout)


def _ensure_standalone_locked(data_dir: Path, store: Any, timeout: float) -> dict[str, Any]:
    import secrets

    from .server.supervisor import BANNER_RE, child_env, serve_command

    info = store.load(STANDALONE_STATE_ID)
    if info and _alive(info):
        return info
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    user, password = "local", secrets.token_urlsafe(24)
    log_path = data_dir / "standalone.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(serve_command(data_dir), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=child_env(user, password),
                                start_new_session=True)
    deadline = time.time() + timeout
    url = None
    while time.time() < deadline and url is None:
        match = BANNER_RE.search(log_path.read_text("utf-8", "replace"))
        if match:
            url = match.group(1)
        elif proc.poll() is not None:
            raise RuntimeError(f"jupyter-eo serve exited with code {proc.returncode}; "
                               f"see {log_path}")
        else:
            time.sleep(0.05)
    if url is None:
        proc.kill()
        raise RuntimeError(f"jupyter-eo serve did not start within {timeout:g} s; see {log_path}")
    info = {"url": url if url.endswith("/") else url + "/", "user": user, "password": password,
            "pid": proc.pid}
    store.save(STANDALONE_STATE_ID, info)
    return info


def stop_standalone(timeout: float = 10.0) -> bool:
    """Stop the standalone backend started by :func:`ensure_standalone`; True if one ran."""
    data_dir, store = _standalone_dirs()
    with _standalone_lock(data_dir, 30.0):
        info = store.load(STANDALONE_STATE_ID)
        store.delete(STANDALONE_STATE_ID)
    if not info:
        return False
    try:
        pid = int(info.get("pid"))  # type: ignore[arg-type]
        os.kill(pid, signal.SIGTERM)
    except (OSError, TypeError, ValueError):
        return False
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        except OSError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True
