"""The openeo client's notebook views load ``@openeo/vue-components`` from the lab, not a CDN:
the build's copy, the authenticated static route, and the kernel-side redirect of ``SCRIPT_URL``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_eo import vue_components
from jupyter_eo.server.channel import ENV_URL
from jupyter_eo.server.static import find_bundle_file

REPO = Path(__file__).resolve().parents[1]
SCRIPT_PATH = "jupyter-eo/static/openeo-vue-components/openeo.min.js"
CDN = "cdn.jsdelivr.net"
PROBE = (
    "import json, sys\n{imports}\n"
    "from openeo.internal.jupyter import render_component\n"
    "html = render_component('collection', data={{'id': 'S2'}})\n"
    "print(json.dumps([sys.modules['openeo.internal.jupyter'].SCRIPT_URL, {cdn!r} in html]))\n"
)


@pytest.fixture
def jp_server_config() -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}}}


@pytest.fixture(scope="module")
def built_bundle() -> Path:
    path = find_bundle_file(vue_components.ENTRY_SCRIPT)
    assert path is not None, "the labextension is not built (make setup / jlpm build)"
    return path.parent


def _probe(imports: str, server_url: str | None, tmp_path: Path) -> list:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_EO_")}
    env.update({"PYTHONPATH": str(REPO), "OPENEO_CONFIG_HOME": str(tmp_path)})
    if server_url:
        env[ENV_URL] = server_url
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports, cdn=CDN)], env=env,
                         capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bundle_holds_entry_and_chunks(built_bundle: Path) -> None:
    names = {p.name for p in built_bundle.iterdir()}
    assert "openeo.min.js" in names and "LICENSE" in names
    assert len([n for n in names if n.startswith("openeo.") and n.endswith(".min.js")]) > 10
    assert (built_bundle / "VERSION").read_text().startswith("2.")


@pytest.mark.parametrize("imports", ["import jupyter_eo\nimport openeo",
                                     "import openeo, openeo.internal.jupyter\nimport jupyter_eo"])
def test_kernel_views_use_the_lab_copy_under_base_url(imports: str, built_bundle: Path,
                                                      tmp_path: Path) -> None:
    url, cdn_in_html = _probe(imports, "http://127.0.0.1:9/user/bob/", tmp_path)
    assert url == "/user/bob/" + SCRIPT_PATH
    assert cdn_in_html is False


def test_outside_jupyter_the_client_keeps_its_cdn(tmp_path: Path) -> None:
    url, cdn_in_html = _probe("import jupyter_eo\nimport openeo", None, tmp_path)
    assert CDN in url and cdn_in_html is True


@pytest.mark.parametrize(("server_url", "expected"), [
    ("http://127.0.0.1:8888/", "/" + SCRIPT_PATH),
    ("http://10.0.0.5:8888/user/ann", "/user/ann/" + SCRIPT_PATH),
    ("", None),
])
def test_script_url_is_origin_relative_under_base_url(server_url: str, expected: str | None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_URL, server_url)
    assert vue_components.local_script_url() == expected
    assert vue_components.SCRIPT_PATH == SCRIPT_PATH


def test_unbuilt_bundle_keeps_the_cdn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(vue_components, "bundle_dirs", lambda: [tmp_path])
    monkeypatch.setenv(ENV_URL, "http://127.0.0.1:9/")
    assert vue_components.activate() is False
    assert vue_components._HOOK not in sys.meta_path


async def test_server_serves_entry_and_chunks(jp_fetch, built_bundle: Path) -> None:
    entry = await jp_fetch(*SCRIPT_PATH.split("/"))
    assert entry.code == 200
    assert entry.headers["Content-Type"].startswith("text/javascript")
    assert entry.body == (built_bundle / "openeo.min.js").read_bytes()
    chunk = sorted(p.name for p in built_bundle.glob("openeo.*.min.js"))[0]
    response = await jp_fetch("jupyter-eo", "static", "openeo-vue-components", chunk)
    assert response.body == (built_bundle / chunk).read_bytes()


@pytest.mark.parametrize("name", ["nothing.min.js", "LICENSE", "VERSION", ".hidden.js", "x.css"])
async def test_server_refuses_other_files(jp_fetch, name: str, built_bundle: Path) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("jupyter-eo", "static", "openeo-vue-components", name)
    assert err.value.code == 404
    assert json.loads(err.value.response.body)["code"] == "NotFound"
