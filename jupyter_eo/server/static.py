"""``GET jupyter-eo/static/openeo-vue-components/<file>``: the lab's copy of ``@openeo/vue-components``."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import NotFound
from ..vue_components import bundle_dirs
from .base import JupyterEOHandler, eo_authenticated

_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.js$")


def find_bundle_file(name: str) -> Path | None:
    """The path of bundle file ``name`` (e.g. ``openeo.min.js``), or None (bad name or not built)."""
    if not _FILE_RE.match(name) or ".." in name:
        return None
    for directory in bundle_dirs():
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


class VueComponentsHandler(JupyterEOHandler):
    """Serve the prebuilt web components (entry script and its lazily loaded chunks).

    The client's HTML views add ``<script src=...>`` to the page, so the lab's login cookie
    authenticates the request; the chunks load from the same directory (webpack's public path
    follows the entry script's URL).
    """

    @eo_authenticated
    def get(self, name: str) -> None:
        path = find_bundle_file(name)
        if path is None:
            raise NotFound(f"{name!r} is not part of the installed @openeo/vue-components bundle "
                           "(was the labextension built? `jlpm build`)")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(path.read_bytes(), set_content_type="text/javascript; charset=utf-8")
