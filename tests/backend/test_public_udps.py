"""Public read-only links to UDPs: alice publishes, anyone reads the link, bob runs it by namespace URL."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import openeo
import pytest
import rioxarray
from openeo.api.process import Parameter
from openeo.rest import OpenEoApiError

from backend_testlib import PASSWORD, USER, ArrayCollection

BBOX = {"west": 500_100.0, "south": 5_599_600.0, "east": 500_500.0, "north": 5_599_900.0, "crs": 32631}
DATES = ["2024-05-05", "2024-05-30"]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _save(connection, udp_id: str, public: bool):
    bbox = Parameter(name="bbox", description="Area", schema={"type": "object", "subtype": "bounding-box"})
    dates = Parameter(name="dates", description="Interval", schema={"type": "array", "subtype": "temporal-interval"})
    cube = connection.load_collection("TEST_S2", spatial_extent=bbox, temporal_extent=dates,
                                      bands=["B04", "B08"]).ndvi().reduce_dimension("t", reducer="max")
    return connection.save_user_defined_process(udp_id, cube, parameters=[bbox, dates], public=public,
                                                summary="NDVI maximum")


def test_public_link_is_readable_anonymously_private_is_not(server: str, connection) -> None:
    _save(connection, "ndvi_max", public=True)
    _save(connection, "secret_ndvi", public=False)
    base = server.rstrip("/")
    status, body = _get(f"{base}/public/process_graphs/{USER}/ndvi_max")
    assert status == 200
    assert body["id"] == "ndvi_max" and [p["name"] for p in body["parameters"]] == ["bbox", "dates"]
    canonical = [link["href"] for link in body["links"] if link["rel"] == "canonical"]
    assert canonical == [f"{base}/public/process_graphs/{USER}/ndvi_max"]
    # a private UDP and an unknown one look the same: 404 ProcessGraphNotFound
    for path in (f"{USER}/secret_ndvi", f"{USER}/nothing", "nobody/ndvi_max"):
        status, body = _get(f"{base}/public/process_graphs/{path}")
        assert (status, body["code"]) == (404, "ProcessGraphNotFound"), path
    status, listing = _get(f"{base}/public/process_graphs/{USER}")
    assert status == 200 and [p["id"] for p in listing["processes"]] == ["ndvi_max"]
    # a bad token is ignored by the public link (it needs none)
    status, body = _get(f"{base}/public/process_graphs/{USER}/ndvi_max", {"Authorization": "Bearer basic//x"})
    assert status == 200 and body["id"] == "ndvi_max"
    # the per-user endpoint stays per user: bob cannot read alice's UDP there
    bob = openeo.connect(server).authenticate_basic("bob", "bob-pw")
    with pytest.raises(OpenEoApiError) as err:
        bob.user_defined_process("ndvi_max").describe()
    assert err.value.code == "ProcessGraphNotFound"


def test_bob_runs_alices_public_udp_by_namespace_url(server: str, connection, tmp_path: Path) -> None:
    _save(connection, "ndvi_max", public=True)
    _save(connection, "secret_ndvi", public=False)
    url = f"{server.rstrip('/')}/public/process_graphs/{USER}/ndvi_max"
    bob = openeo.connect(server).authenticate_basic("bob", "bob-pw")
    path = tmp_path / "bob.tif"
    bob.datacube_from_process("ndvi_max", namespace=url, bbox=BBOX, dates=DATES).download(path, format="GTiff")
    source = ArrayCollection().load(BBOX, DATES, ["B04", "B08"]).astype("float64")
    red, nir = source.sel(bands="B04"), source.sel(bands="B08")
    want = ((nir - red) / (nir + red)).max("t", skipna=True).compute()
    with rioxarray.open_rasterio(path, masked=True) as tif:
        np.testing.assert_allclose(tif.isel(band=0).values, want.values, rtol=1e-6, equal_nan=True)
    # a private UDP is not reachable through the public link form
    secret = url.replace("ndvi_max", "secret_ndvi")
    with pytest.raises(OpenEoApiError) as err:
        bob.datacube_from_process("secret_ndvi", namespace=secret, bbox=BBOX, dates=DATES).download(
            tmp_path / "no.tif", format="GTiff")
    assert err.value.code == "ProcessUnsupported"
    assert PASSWORD not in str(err.value)
