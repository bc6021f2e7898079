"""Browser test: the ``openeo`` client's own notebook views (a collection, the process list) render
offline from the lab's copy of ``@openeo/vue-components``, with no request to any other origin."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import LabPage

pytestmark = pytest.mark.browser

NOTEBOOK = "openeo_views.ipynb"
CELLS = [
    "import jupyter_eo\nconnection = jupyter_eo.connect('local')\n"
    "from openeo.internal import jupyter as client_views\nclient_views.SCRIPT_URL",
    "connection.describe_collection('SENTINEL2_L2A')",
    "connection.list_processes()",
]
SCRIPT_PATH = "jupyter-eo/static/openeo-vue-components/openeo.min.js"

# The upgraded <openeo-collection> renders into its shadow root; this returns its text once the
# Vue component has mounted (the raw tag alone has only the JSON <script> child, no shadow root).
_RENDERED_TEXT = """() => {
    const el = document.querySelector('.jp-OutputArea-output openeo-collection');
    if (!el || !window.customElements.get('openeo-collection')) { return null; }
    const root = el.shadowRoot;
    const text = root ? root.textContent : '';
    return text && text.includes('SENTINEL2_L2A') ? text : null;
}"""


_PROCESSES_TEXT = """() => {
    const el = document.querySelector('.jp-OutputArea-output openeo-processes');
    const text = el && el.shadowRoot ? el.shadowRoot.textContent : '';
    return text.includes('ndvi') && text.includes('load_collection') ? text : null;
}"""


def test_client_views_render_from_the_lab(lab: LabPage) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(lab.server.url))
    requests: list[tuple[str, str]] = []
    responses: dict[str, int] = {}
    lab.page.on("request", lambda r: requests.append((r.resource_type, r.url)))
    lab.page.on("response", lambda r: responses.__setitem__(r.url, r.status))

    lab.write_notebook(NOTEBOOK, CELLS)
    lab.open_notebook(NOTEBOOK)
    lab.run_all(NOTEBOOK)
    # the kernel points the client's views at the lab's copy, under the server's base_url
    assert lab.kernel_eval(NOTEBOOK, "client_views.SCRIPT_URL") == repr(lab.server.base_url + SCRIPT_PATH)

    handle: Any = lab.page.wait_for_function(_RENDERED_TEXT, timeout=60_000, polling=200)
    text = handle.json_value()
    assert "Sentinel" in text or "SENTINEL" in text
    lab.page.locator(".jp-OutputArea-output openeo-collection").scroll_into_view_if_needed()
    lab.screenshot("openeo_client_collection_view")
    assert lab.page.wait_for_function(_PROCESSES_TEXT, timeout=30_000, polling=200).json_value()

    scripts = [url for kind, url in requests if kind == "script"]
    entry = origin + lab.server.base_url + SCRIPT_PATH
    assert entry in scripts and responses.get(entry) == 200, (entry, scripts)
    # the entry script loads its chunks from the same served directory
    chunks = [u for u in scripts if "/openeo-vue-components/openeo." in u and u != entry]
    assert chunks and all(responses.get(u) == 200 for u in chunks), chunks
    foreign = [(kind, url) for kind, url in requests
               if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(origin + "/")]
    assert not foreign, f"requests to other origins (a CDN?): {foreign}"
