"""Offline ``openeo`` client views: point their ``@openeo/vue-components`` script at the lab's copy.

The ``openeo`` client renders collections, processes, jobs and logs in notebooks as
``<openeo-...>`` web components and loads their script from a CDN
(``openeo.internal.jupyter.SCRIPT_URL``, read on every render). Our build copies the npm
package's prebuilt bundle into the labextension and the server extension serves it at
``{base_url}jupyter-eo/static/openeo-vue-components/openeo.min.js`` (cookie-authenticated).

:func:`activate` runs when ``jupyter_eo`` is imported in a kernel started by a Jupyter server
with jupyter_eo: it redirects ``SCRIPT_URL`` to that origin-relative URL as soon as the client's
views module is imported (without importing ``openeo`` itself). Outside Jupyter, or when the
bundle was never built, nothing changes and the client keeps its CDN.
"""
from __future__ import annotations

import importlib.machinery
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence
from urllib.parse import urlsplit

from .server.channel import ENV_URL

#: The client module whose ``SCRIPT_URL`` the HTML views read.
CLIENT_VIEWS_MODULE = "openeo.internal.jupyter"
#: Sub-directory of the built labextension's ``static/`` holding the copied bundle.
BUNDLE_DIR = "openeo-vue-components"
ENTRY_SCRIPT = "openeo.min.js"
LABEXTENSION_NAME = "jupyter-eo"


def bundle_dirs() -> list[Path]:
    """Where the bundle may be: the package's own build (source tree, editable install) first,
    then every installed copy of the labextension (wheels put it under ``share/jupyter``)."""
    from jupyter_core.paths import jupyter_path

    dirs = [Path(__file__).resolve().parent / "labextension" / "static" / BUNDLE_DIR]
    dirs += [Path(p) for p in jupyter_path("labextensions", LABEXTENSION_NAME, "static", BUNDLE_DIR)]
    return dirs


def bundle_available() -> bool:
    """True when the built bundle's entry script exists in one of :func:`bundle_dirs`."""
    return any((d / ENTRY_SCRIPT).is_file() for d in bundle_dirs())


#: The served entry script, relative to the server's base URL (see ``jupyter_eo.server.routes``).
SCRIPT_PATH = f"jupyter-eo/static/{BUNDLE_DIR}/{ENTRY_SCRIPT}"


def local_script_url() -> str | None:
    """The origin-relative URL of the served entry script (``/base_url/jupyter-eo/...``), or None
    outside Jupyter. Origin-relative, because the browser may reach the server under another host
    than the kernel does (JupyterHub, tunnels)."""
    base = os.environ.get(ENV_URL)
    if not base:
        return None
    path = urlsplit(base).path or "/"
    return (path if path.endswith("/") else path + "/") + SCRIPT_PATH


def apply(module: ModuleType | None = None) -> str | None:
    """Set the client's ``SCRIPT_URL`` to the lab's copy now; return the URL used (or None)."""
    url = local_script_url()
    if not url:
        return None
    if module is None:
        import importlib

        module = importlib.import_module(CLIENT_VIEWS_MODULE)
    module.SCRIPT_URL = url
    return url


class _PatchOnImport:
    """A ``sys.meta_path`` finder: finds ``openeo.internal.jupyter`` like the normal path finder,
    then patches the module once it is loaded."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> Any:
        if fullname != CLIENT_VIEWS_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = getattr(spec, "loader", None)
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return None
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            _remove_hook()
            try:
                apply(module)
            except Exception:  # noqa: BLE001 - never break `import openeo`; views keep the CDN
                pass

        loader.exec_module = exec_module  # this loader instance serves only this spec
        return spec


_HOOK = _PatchOnImport()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def activate() -> bool:
    """Redirect the client's views to the lab's copy when in Jupyter and the bundle is built.

    Patches at once if the client's views module is already imported, otherwise when it is.
    Returns True when the redirect is (or will be) in place.
    """
    if not os.environ.get(ENV_URL) or not bundle_available():
        return False
    module = sys.modules.get(CLIENT_VIEWS_MODULE)
    if module is not None:
        return apply(module) is not None
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
    return True


def deactivate() -> None:
    """Stop redirecting future imports (an already patched module keeps its URL)."""
    _remove_hook()


activate()  # on import of jupyter_eo (see the module docstring)
