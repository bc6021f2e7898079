"""The one route table of the server extension (paths relative to ``{base_url}``)."""
from __future__ import annotations

from typing import Any

from .basemap import BasemapTileHandler
from .login import BackendHandler, BackendsHandler, LoginHandler
from .process_fetch import ProcessDocumentHandler
from .proxy import ProxyHandler
from .static import VueComponentsHandler
from .status import StatusHandler
from .user_backends import DiscoverHandler

# (path pattern, handler class). Every handler method is wrapped with ``eo_authenticated``;
# tests/server/test_routes_auth.py enumerates this table.
ROUTES: list[tuple[str, type]] = [
    (r"jupyter-eo/api/status", StatusHandler),
    (r"jupyter-eo/api/backends", BackendsHandler),
    (r"jupyter-eo/api/backends/(?P<backend_id>[^/]+)", BackendHandler),
    (r"jupyter-eo/api/backends/(?P<backend_id>[^/]+)/login", LoginHandler),
    (r"jupyter-eo/api/discover", DiscoverHandler),
    (r"jupyter-eo/api/process-document", ProcessDocumentHandler),
    (r"jupyter-eo/basemap/(?P<z>[^/]+)/(?P<x>[^/]+)/(?P<y>[^/.]+)\.png", BasemapTileHandler),
    (r"jupyter-eo/openeo/(?P<backend_id>[^/]+)/(?P<path>.*)", ProxyHandler),
    (r"jupyter-eo/static/openeo-vue-components/(?P<name>[^/]+)", VueComponentsHandler),
]


def handlers() -> list[tuple[str, type, dict[str, Any]]]:
    """Handler specs for ``ExtensionApp.handlers`` (the app prefixes base_url)."""
    return [(pattern, cls, {}) for pattern, cls in ROUTES]
