"""The offline basemap is served by the server extension itself (no embedded backend needed) and its
URL template reaches kernels through the environment they inherit."""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from tornado.httpclient import AsyncHTTPClient

from jupyter_eo.server.channel import ENV_BASEMAP, exported_basemap_url


@pytest.fixture
def jp_server_config(tmp_path) -> dict:  # type: ignore[no-untyped-def]
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"enable_local_backend": False,
                             "credentials_dir": str(tmp_path / "creds")}}


async def test_offline_basemap_tile_without_the_embedded_backend(
        jp_serverapp, http_server, jp_http_port, jp_base_url, jp_auth_header, eo_cache_dir,
        monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)
    assert jp_serverapp.web_app.settings["jupyter_eo_supervisor"] is None
    template = exported_basemap_url()
    assert template == f"{jp_base_url}jupyter-eo/basemap/{{z}}/{{x}}/{{y}}.png"
    url = f"http://127.0.0.1:{jp_http_port}" + template.format(z=2, x=2, y=1)
    answer = await AsyncHTTPClient().fetch(url, headers=jp_auth_header, request_timeout=120)
    assert answer.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(answer.body))
    assert image.size == (256, 256) and image.mode == "RGB"
    assert len(set(image.getdata())) > 50  # a rendered world, not a blank tile


@pytest.mark.parametrize("path", ["3/8/0", "19/0/0", "1/a/0", "99999999/0/0"])
async def test_bad_tile_indices_are_400(jp_serverapp, http_server, jp_http_port, jp_base_url,
                                        jp_auth_header, path) -> None:
    answer = await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-eo/basemap/{path}.png",
        headers=jp_auth_header, raise_error=False)
    assert answer.code == 400, answer.body


@pytest.fixture
def online_config(tmp_path) -> dict:  # type: ignore[no-untyped-def]
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}},
            "JupyterEOApp": {"enable_local_backend": False,
                             "basemap_tile_url": "https://tiles.example.org/{z}/{x}/{y}.png"}}


async def test_online_basemap_url_is_exported(jp_configurable_serverapp, online_config,
                                              monkeypatch) -> None:
    monkeypatch.delenv(ENV_BASEMAP, raising=False)
    jp_configurable_serverapp(config=online_config)
    assert os.environ[ENV_BASEMAP] == "https://tiles.example.org/{z}/{x}/{y}.png"


async def test_renderer_is_warmed_up_at_server_start(jp_serverapp, http_server, eo_cache_dir,
                                                     monkeypatch) -> None:
    import asyncio

    monkeypatch.setenv("JUPYTER_EO_CACHE_DIR", eo_cache_dir)
    eo = jp_serverapp.extension_manager.extension_apps["jupyter_eo"]
    app = next(iter(eo))
    seconds = await asyncio.wait_for(asyncio.wrap_future(app.basemap_warmed), 60)
    assert isinstance(seconds, float) and seconds >= 0
