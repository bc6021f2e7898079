"""Static STAC catalogs on disk: load_stac and register_stac; unreachable remote URLs fail fast."""
from __future__ import annotations

import socket
import time

import pystac
import pytest

from jupyter_eo.errors import OpenEOError


def test_load_stac_from_static_catalog(tmp_path, catalog, make_stac):
    path = make_stac(tmp_path / "stac")
    cube = catalog.load_stac(str(path), None, ["2022-05-15", "2022-08-01"], ["nir"],
                             lambda p: p["eo:cloud_cover"] < 15)
    assert cube.dims == ("t", "bands", "y", "x")
    assert cube.sizes["t"] == 1 and cube.shape[2:] == (20, 30)
    assert int(cube.values[0, 0, 0, 0]) == 201
    assert cube.rio.crs.to_epsg() == 32633


def test_register_stac_makes_a_collection(tmp_path, cache_dir, make_stac):
    from jupyter_eo.backend.catalog import default_catalog

    path = make_stac(tmp_path / "stac")
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
    sock.bind(("127.0.0.1", 0))  # kept bound but never listening: connections are refused,
    port = sock.getsockname()[1]  # and no other process can take the port meanwhile
    try:
        start = time.monotonic()
        with pytest.raises(OpenEOError) as err:
            catalog.load_stac(f"http://127.0.0.1:{port}/collections/S2", None, None, None, None)
        assert time.monotonic() - start < 10
    finally:
        sock.close()
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
