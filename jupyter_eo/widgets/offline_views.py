"""Point the ``openeo`` client's notebook views (collections, processes, jobs, logs) at a copy of
``@openeo/vue-components`` served by the lab instead of the CDN, so they render offline."""
from __future__ import annotations

#: Where the server extension is expected to serve ``@openeo/vue-components/assets/openeo.min.js``
#: (relative to the lab's base URL). Serving it is the server/labextension's job.
SCRIPT_PATH = "jupyter-eo/static/openeo-vue-components/openeo.min.js"


def local_components_url() -> str | None:
    """The origin-relative URL of the served script, or None outside Jupyter."""
    from jupyter_eo.connection import browser_url, server_url

    base = server_url()
    return browser_url(base + SCRIPT_PATH) if base else None


def use_local_components(url: str | None = None) -> str | None:
    """Make the client's HTML views load the script from ``url`` (default: the lab's copy).

    Returns the URL now used, or None when there is no lab to serve it (views keep the CDN).
    """
    from openeo.internal import jupyter as client_views

    url = url or local_components_url()
    if url:
        client_views.SCRIPT_URL = url
    return url
