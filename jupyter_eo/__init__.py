"""jupyter_eo: interactive openEO Earth observation in JupyterLab (public names and extension entry points)."""
from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0+unknown"
from . import vue_components as _vue_components  # noqa: F401  (kernels: offline openeo client views)

__all__ = ["__version__", "connect", "insert_code_cell", "server_url"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-eo"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import JupyterEOApp

    return [{"module": "jupyter_eo", "app": JupyterEOApp}]


def connect(backend_id: str = "local", **kwargs: Any) -> Any:
    """An authenticated ``openeo.Connection`` to ``backend_id`` (through the lab's proxy when in Jupyter)."""
    from .connection import connect as _connect

    return _connect(backend_id, **kwargs)


def server_url() -> str | None:
    """The Jupyter server URL (with base_url) that launched this kernel, or None outside Jupyter."""
    from .connection import server_url as _server_url

    return _server_url()


def insert_code_cell(code: str, anchor: Any = None) -> None:
    """Insert ``code`` as a new cell below the cell showing ``anchor`` (a widget); see :mod:`jupyter_eo.bridge`."""
    from .bridge import insert_code_cell as _insert

    _insert(code, anchor=anchor)
