"""The openeo client's HTML views can load vue-components from the lab instead of the CDN."""
from __future__ import annotations

from openeo.internal import jupyter as client_views

from jupyter_eo.widgets.offline_views import SCRIPT_PATH, use_local_components


def test_client_views_use_the_lab_copy(monkeypatch):
    monkeypatch.setattr(client_views, "SCRIPT_URL", client_views.SCRIPT_URL)
    monkeypatch.delenv("JUPYTER_EO_SERVER_URL", raising=False)
    assert use_local_components() is None
    assert "cdn.jsdelivr.net" in client_views.render_component("collection", data={"id": "X"})
    monkeypatch.setenv("JUPYTER_EO_SERVER_URL", "http://127.0.0.1:8888/user/ann/")
    url = use_local_components()
    assert url == "/user/ann/" + SCRIPT_PATH
    html = client_views.render_component("collection", data={"id": "X"})
    assert url in html and "cdn.jsdelivr.net" not in html
