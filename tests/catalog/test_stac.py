"""Static STAC catalogs on disk: load_stac and register_stac; unreachable remote URLs fail fast."""
from __future__ import annotations

import datetime as dt
import socket
import time

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin

from jupyter_eo.errors import OpenEOError


def _make_catalog(root):
    root.mkdir()
    cat = pystac.Catalog(id="my-stac", description="test catalog")
    for k, day in enumerate([dt.datetime(2022, 5, 1), dt.datetime(2022, 6, 1), dt.datetime(2022, 7, 1)]):
        item_dir = root / f"item{k}"
        item_dir.mkdir()
        for band, value in (("red", 100 + k), ("nir", 200 + k)):
            with rasterio.open(item_dir / f"{band}.tif", "w", driver="GTiff", width=30, height=20, count=1,
                               dtype="uint16", crs="EPSG:32633", nodata=0,
                               transform=from_origin(400000, 5800000, 10, 10)) as dst:
                dst.write(np.full((1, 20, 30), value, np.uint16))
        item = pystac.Item(id=f"item{k}", geometry={"type": "Point", "coordinates": [13.5, 52.3]},
                           bbox=[13.5, 52.3, 13.51, 52.31], datetime=day,
                           properties={"eo:cloud_cover": 10.0 * k})
        for band in ("red", "nir"):
            item.add_asset(band, pystac.Asset(href=str(item_dir / f"{band}.tif"), media_type=pystac.MediaType.GEOTIFF,
                                              roles=["data"], extra_fields={"eo:bands": [{"name": band, "common_name": band}]}))
        cat.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def test_load_stac_from_static_catalog(tmp_path, catalog):
    path = _make_catalog(tmp_path / "stac")
    cube = catalog.load_stac(str(path), None, ["2022-05-15", "2022-08-01"], ["nir"],
                             lambda p: p["eo:cloud_cover"] < 15)
    assert cube.dims == ("t", "bands", "y", "x")
    assert cube.sizes["t"] == 1 and cube.shape[2:] == (20, 30)
    assert int(cube.values[0, 0, 0, 0]) == 201
    assert cube.rio.crs.to_epsg() == 32633


def test_register_stac_makes_a_collection(tmp_path, cache_dir):
    from jupyter_eo.backend.catalog import default_catalog

    path = _make_catalog(tmp_path / "stac")
    cat = default_catalog(cache_dir=cache_dir, stac_catalogs=[str(path)])
    assert "my-stac" in cat.ids()
    cid = cat.register_stac(str(tmp_path / "stac"), "MY_STAC")
    coll = cat.get(cid)
    doc = coll.metadata()
    pystac.Collection.from_dict(doc)
    assert [b["name"] for b in doc["summaries"]["eo:bands"]] == ["red", "nir"]
    assert doc["summaries"]["eo:bands"][0]["common_name"] == "red"
    assert coll.queryables()["properties"]["eo:cloud_cover"]["type"] == "number"
    cube = coll.load({"west": 400050, "south": 5799850, "east": 400150, "north": 5799950, "crs": 32633},
                     None, ["red", "nir"])
    assert cube.shape == (3, 2, 10, 10)
    assert cube.values[:, 0, 0, 0].tolist() == [100, 101, 102]


def test_unreachable_remote_stac_fails_fast(catalog):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    start = time.monotonic()
    with pytest.raises(OpenEOError) as err:
        catalog.load_stac(f"http://127.0.0.1:{port}/collections/S2", None, None, None, None)
    assert time.monotonic() - start < 10
    assert err.value.code == "StacUnreachable" and "not reachable" in err.value.message
    assert err.value.to_dict()["code"] == "StacUnreachable"


def test_missing_local_stac_is_an_openeo_error(tmp_path, catalog):
    with pytest.raises(OpenEOError):
        catalog.load_stac(str(tmp_path / "nope.json"))


def test_silent_remote_stac_times_out(catalog, monkeypatch):
    from jupyter_eo.backend.catalog import stac

    monkeypatch.setattr(stac, "REMOTE_TIMEOUT", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # accepts connections (backlog) but never answers
    try:
        start = time.monotonic()
        with pytest.raises(OpenEOError) as err:
            catalog.load_stac(f"http://127.0.0.1:{server.getsockname()[1]}/catalog.json")
        assert time.monotonic() - start < 5
        assert err.value.code == "StacUnreachable"
    finally:
        server.close()
