"""Browser test under a JupyterHub-like base_url: the lab loads, and kernel code reaches our
server extension at the exported URL (with base_url) using the kernel-channel secret."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from .conftest import LabPage, loaded_lab_page, running_lab

pytestmark = pytest.mark.browser

BASE_URL = "/user/alice/"
CELLS = [
    "import json, urllib.request\nimport jupyter_eo\nfrom jupyter_eo.connection import channel_headers\n"
    "url = jupyter_eo.server_url()\n"
    "req = urllib.request.Request(url + 'jupyter-eo/api/status', headers=channel_headers())\n"
    "status = json.load(urllib.request.urlopen(req, timeout=10))\n"
    "try:\n    urllib.request.urlopen(url + 'jupyter-eo/api/status', timeout=10)\n"
    "    anonymous = 200\nexcept urllib.error.HTTPError as err:\n    anonymous = err.code",
]


@pytest.fixture(scope="module")
def alice_lab(tmp_path_factory: pytest.TempPathFactory, playwright_browser: Any) -> Iterator[LabPage]:
    with running_lab(tmp_path_factory.mktemp("alice"), base_url=BASE_URL) as server:
        with loaded_lab_page(playwright_browser, server) as lab:
            yield lab


def test_kernel_reaches_server_under_base_url(alice_lab: LabPage) -> None:
    lab = alice_lab
    assert lab.server.url.endswith(BASE_URL)
    assert lab.js("return app.isPluginActivated('jupyter-eo:bridge');") is True
    path = lab.write_notebook("alice.ipynb", CELLS)
    lab.open_notebook(path)
    lab.run_all(path)
    assert lab.kernel_eval(path, "url") == repr(lab.server.url)
    assert lab.kernel_eval(path, "(status['name'], status['kernel'])") == "('jupyter_eo', True)"
    assert lab.kernel_eval(path, "anonymous") == "403"
