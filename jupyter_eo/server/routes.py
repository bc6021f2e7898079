"""The one route table of the server extension (paths relative to ``{base_url}``)."""
from __future__ import annotations

from typing import Any

from .login import BackendsHandler, LoginHandler
from .proxy import ProxyHandler
from .static import VueComponentsHandler
from .status import StatusHandler

# (path pattern, handler class). Every handler method is wrapped with ``eo_authenticated``;
# tests/server/test_routes_auth.py enumerates this table.
ROUTES: list[tuple[str, type]] = [
    (r"jupyter-eo/api/status", StatusHandler),
    (r"jupyter-eo/api/backends", BackendsHandler),
    (r"jupyter-eo/api/backends/(?P<backend_id>[^/]+)/login", LoginHandler),
    (r"jupyter-eo/openeo/(?P<backend_id>[^/]+)/(?P<path>.*)", ProxyHandler),
    (r"jupyter-eo/static/openeo-vue-components/(?P<name>[^/]+)", VueComponentsHandler),
]


def handlers() -> list[tuple[str, type, dict[str, Any]]]:
    """Handler specs for ``ExtensionApp.handlers`` (the app prefixes base_url)."""
    return [(pattern, cls, {}) for pattern, cls in ROUTES]
