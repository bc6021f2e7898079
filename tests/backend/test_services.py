"""XYZ tile services of process graphs (and the basemap route): CRUD, tiles, auth."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
import requests
from PIL import Image

from backend_testlib import ArrayCollection

# a point inside the test collection (EPSG:32631 500400, 5599700)
LON, LAT = 3.00565, 50.54923


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def rgba(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as img:
        assert img.size == (256, 256)
        return np.asarray(img.convert("RGBA"))


@pytest.fixture
def service(connection):
    cube = connection.load_collection("TEST_S2", bands=["B04", "B08"]).ndvi() \
        .reduce_dimension("t", reducer="max")
    return connection.create_service(cube.flat_graph(), "XYZ", title="ndvi",
                                     configuration={"colormap": "RdYlGn", "min": -1, "max": 1})


def test_service_crud(connection, service) -> None:
    assert "XYZ" in connection.list_service_types()
    meta = service.describe_service()
    assert meta["type"] == "XYZ" and meta["title"] == "ndvi"
    assert meta["url"].endswith("/{z}/{x}/{y}.png") and meta["url"].startswith("http://127.0.0.1")
    assert [s["id"] for s in connection.list_services()] == [service.service_id]
    connection.patch(f"/services/{service.service_id}", json={"title": "renamed"},
                     expected_status=204)
    assert service.describe_service()["title"] == "renamed"
    service.delete_service()
    assert connection.list_services() == []


def test_tiles_render_the_graph(connection, service) -> None:
    url = service.describe_service()["url"]
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
    x, y = tile_of(LON, LAT, 16)
    response = requests.get(url.format(z=16, x=x, y=y), headers=headers, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    pixels = rgba(response.content)
    opaque = pixels[..., 3] == 255
    assert opaque.mean() > 0.2
    # the colours are the RdYlGn colormap of NDVI values in [-1, 1] of the real data
    cube = ArrayCollection().load(bands=["B04", "B08"]).astype("float64")
    red, nir = cube.sel(bands="B04"), cube.sel(bands="B08")
    ndvi = ((nir - red) / (nir + red)).max("t").compute().values
    import matplotlib

    palette = (matplotlib.colormaps["RdYlGn"]((np.nanpercentile(ndvi, [5, 50, 95]) + 1) / 2)
               * 255)[:, :3]
    colours = pixels[opaque][:, :3].astype(float)
    assert colours[:, 1].mean() == pytest.approx(palette[1][1], abs=40)
    # far away from the data: a fully transparent tile, not an error
    fx, fy = tile_of(-60.0, -10.0, 16)
    far = requests.get(url.format(z=16, x=fx, y=fy), headers=headers, timeout=30)
    assert far.status_code == 200 and (rgba(far.content)[..., 3] == 0).all()


def test_tile_errors(connection, service, server: str) -> None:
    url = service.describe_service()["url"]
    x, y = tile_of(LON, LAT, 16)
    assert requests.get(url.format(z=16, x=x, y=y), timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {connection.auth.bearer}"}
    bad = requests.get(url.format(z=3, x=99, y=0), headers=headers, timeout=10)
    assert bad.status_code == 404 and bad.json()["code"] == "NotFound"
    missing = requests.get(f"{server}xyz/s-nope/1/0/0.png", headers=headers, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "ServiceNotFound"
    unsupported = requests.post(server + "services", headers=headers, timeout=10,
                                json={"type": "WMTS", "process": {"process_graph": {}}})
    assert unsupported.json()["code"] == "ServiceUnsupported"
    basemap = requests.get(f"{server}basemap/0/0/0.png", timeout=10)
    assert basemap.status_code == 401
    basemap = requests.get(f"{server}basemap/0/0/0.png", headers=headers, timeout=60)
    # 501 FeatureUnsupported until the catalog ships jupyter_eo.backend.catalog.basemap
    if basemap.status_code == 200:
        assert basemap.headers["Content-Type"] == "image/png" and rgba(basemap.content).any()
    else:
        assert (basemap.status_code, basemap.json()["code"]) == (501, "FeatureUnsupported")
