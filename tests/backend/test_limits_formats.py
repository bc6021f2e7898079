"""Units: graph limits, pixel estimates, wall-clock limit, format writers, workspace paths."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import xarray as xr

from backend_testlib import PASSWORD, USER, ArrayCatalog, ArrayCollection, make_config, make_cube
from jupyter_eo.backend.formats import canonical_format, file_formats, write_result
from jupyter_eo.backend.formats.png import render
from jupyter_eo.backend.limits import Limits, check_graph, estimate_pixels
from jupyter_eo.backend.testing import serve_in_thread
from jupyter_eo.backend.workspace import Workspace
from jupyter_eo.errors import (OpenEOError, ProcessGraphComplexity, ProcessGraphInvalid,
                               ProcessGraphMissing)


def test_check_graph_nested_callbacks_and_limits() -> None:
    inner = {"m": {"process_id": "max", "arguments": {"data": {"from_parameter": "data"}},
                   "result": True}}
    graph = {"l": {"process_id": "load_collection", "arguments": {"id": "X"}},
             "r": {"process_id": "reduce_dimension", "arguments": {
                 "data": {"from_node": "l"}, "reducer": {"process_graph": inner},
                 "dimension": "t"}, "result": True}}
    assert len(check_graph(graph, Limits())) == 2
    with pytest.raises(ProcessGraphComplexity):
        check_graph(graph, Limits(max_nodes=2))
    with pytest.raises(ProcessGraphMissing):
        check_graph([], Limits())
    with pytest.raises(ProcessGraphInvalid):
        check_graph({"a": {"arguments": {}}}, Limits())
    cyclic_inner = {"a": {"process_id": "add", "arguments": {"x": {"from_node": "b"}}},
                    "b": {"process_id": "add", "arguments": {"x": {"from_node": "a"}}}}
    with pytest.raises(ProcessGraphInvalid, match="cycle"):
        check_graph({"r": {"process_id": "apply", "arguments": {
            "process": {"process_graph": cyclic_inner}}, "result": True}}, Limits())


def test_pixel_estimate_uses_extent_bands_and_time() -> None:
    catalog = ArrayCatalog()
    full = [{"l": {"process_id": "load_collection", "arguments": {"id": "TEST_S2"}}}]
    assert estimate_pixels(full, catalog) == 81 * 61 * 4 * 3
    part = [{"l": {"process_id": "load_collection", "arguments": {
        "id": "TEST_S2", "bands": ["B04"], "temporal_extent": ["2024-05-01", "2024-05-12"],
        "spatial_extent": {"west": 500_000, "east": 500_100, "south": 5_599_900,
                           "north": 5_600_000, "crs": 32631}}}}]
    assert estimate_pixels(part, catalog) == 11 * 11 * 2 * 1
    # a global collection described in degrees with a 10 m step
    meta = {"cube:dimensions": {
        "x": {"type": "spatial", "axis": "x", "extent": [-180, 180], "step": 10,
              "reference_system": 4326},
        "y": {"type": "spatial", "axis": "y", "extent": [-90, 90], "step": 10,
              "reference_system": 4326},
        "t": {"type": "temporal", "extent": ["2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"],
              "step": "P5D"},
        "bands": {"type": "bands", "values": ["a", "b"]}}}

    class Global:
        def get(self, cid):
            return type("C", (), {"metadata": staticmethod(lambda: meta)})()

    small = [{"l": {"process_id": "load_collection", "arguments": {
        "id": "G", "spatial_extent": {"west": 5.0, "east": 5.01, "south": 51.0, "north": 51.01},
        "temporal_extent": ["2020-06-01", "2020-06-11"]}}}]
    count = estimate_pixels(small, Global())
    assert 70 * 111 * 3 * 2 * 0.8 < count < 71 * 113 * 3 * 2 * 1.2


def test_sync_wall_clock_limit(tmp_path: Path) -> None:
    catalog = ArrayCatalog(slow=True)
    config = make_config(tmp_path, catalog=catalog,
                         limits=Limits(sync_timeout_s=0.5, max_body_bytes=1 << 20))
    with serve_in_thread(config) as url:
        token = requests.get(url + "credentials/basic", auth=(USER, PASSWORD)).json()
        headers = {"Authorization": f"Bearer basic//{token['access_token']}"}
        graph = {"l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}},
            "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
                                                             "format": "GTiff"}, "result": True}}
        started = time.monotonic()
        response = requests.post(url + "result", headers=headers,
                                 json={"process": {"process_graph": graph}}, timeout=30)
        assert (response.status_code, response.json()["code"]) == (408, "RequestTimeout")
        assert time.monotonic() - started < 2.0
        assert requests.get(url + "me", headers=headers, timeout=5).status_code == 200


def test_format_registry_and_errors(tmp_path: Path) -> None:
    assert canonical_format("gtiff") == "GTiff" and canonical_format("NetCDF") == "netCDF"
    with pytest.raises(OpenEOError) as err:
        canonical_format("XLSX")
    assert err.value.status == 400
    assert set(file_formats()["output"]) == {"GTiff", "netCDF", "PNG", "JSON", "GeoJSON"}
    with pytest.raises(OpenEOError) as err:
        write_result({"a": 1}, "GTiff", {}, tmp_path)
    assert err.value.code == "FormatUnsuitable"
    written = write_result({"a": float("nan"), "b": np.float32(2)}, None, {}, tmp_path)
    # NaN in a JSON result is written as the NaN literal (docs/processes.md), not as null
    # (which means no-data): the official client reads it back as a float NaN
    loaded = json.loads(written.path.read_text())
    assert set(loaded) == {"a", "b"} and loaded["b"] == 2.0
    assert isinstance(loaded["a"], float) and loaded["a"] != loaded["a"]


def test_png_rgb_and_transparency() -> None:
    data = np.zeros((3, 4, 5))
    data[0] = 1.0
    data[:, 0, 0] = np.nan
    png = render(data, {"min": 0, "max": 1})
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(png)))
    assert pixels.shape == (4, 5, 4)
    assert tuple(pixels[1, 1]) == (255, 0, 0, 255) and pixels[0, 0, 3] == 0


def test_gtiff_with_time_stack_names_bands(tmp_path: Path) -> None:
    import rioxarray

    cube = ArrayCollection().load(bands=["B02"]).isel(t=[0, 2])
    written = write_result(cube, "GTiff", {}, tmp_path)
    with rioxarray.open_rasterio(written.path) as arr:
        assert tuple(arr.attrs["long_name"]) == ("B02_2024-05-01T00:00:00Z",
                                                 "B02_2024-05-21T00:00:00Z")
        np.testing.assert_array_equal(arr.values[1], cube.isel(t=1, bands=0).values)


def test_workspace_paths(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "files")
    assert ws.resolve("a/b.txt") == (tmp_path / "files" / "a" / "b.txt").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x", "a\\b", "a\x00b", "", "~/x"):
        with pytest.raises(OpenEOError) as err:
            ws.resolve(bad)
        assert err.value.code == "FilePathInvalid"
    (tmp_path / "outside").mkdir()
    (tmp_path / "files" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(OpenEOError):
        ws.resolve("link/secret")
    xr.DataArray([1]).to_netcdf(tmp_path / "files" / "x.nc")
    assert [f["path"] for f in ws.list()] == ["x.nc"]


def test_tokens_survive_restart_but_not_a_password_change(tmp_path: Path) -> None:
    from jupyter_eo.backend.auth import Authenticator

    db = tmp_path / "auth.sqlite"
    token = Authenticator({"u": "p1"}, db).issue_token("u")
    assert Authenticator({"u": "p1"}, db).check_bearer(f"Bearer basic//{token}") == "u"
    with pytest.raises(OpenEOError) as err:
        Authenticator({"u": "p2"}, db).check_bearer(f"Bearer basic//{token}")
    assert err.value.code == "TokenInvalid"


def test_busy_sync_pool_does_not_block_other_requests(tmp_path: Path) -> None:
    import threading

    catalog = ArrayCatalog(slow=True)
    loading = threading.Semaphore(0)
    slow_load = catalog.collection.load

    def load(*args, **kwargs):  # type: ignore[no-untyped-def]
        loading.release()  # runs in the sync worker: it is now busy for seconds
        return slow_load(*args, **kwargs)

    catalog.collection.load = load  # type: ignore[method-assign]
    config = make_config(tmp_path, catalog=catalog,
                         limits=Limits(sync_timeout_s=3, max_body_bytes=1 << 20))
    with serve_in_thread(config) as url:
        token = requests.get(url + "credentials/basic", auth=(USER, PASSWORD)).json()
        headers = {"Authorization": f"Bearer basic//{token['access_token']}"}
        graph = {"l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": None}, "result": True}}
        body = {"process": {"process_graph": graph}}
        slow = [threading.Thread(target=requests.post, args=(url + "result",),
                                 kwargs={"headers": headers, "json": body, "timeout": 30})
                for _ in range(config.sync_workers)]
        for thread in slow:
            thread.start()
        for _ in slow:  # both sync workers are busy (event, not a guess of how long it takes)
            assert loading.acquire(timeout=30), "a slow request never started loading"
        started = time.monotonic()
        created = requests.post(url + "jobs", headers=headers, json=body, timeout=10)
        valid = requests.post(url + "validation", headers=headers, json={"process_graph": graph})
        listed = requests.get(url + "jobs", headers=headers, timeout=10)
        assert created.status_code == 201 and valid.json() == {"errors": []}
        assert listed.status_code == 200
        assert time.monotonic() - started < 1.0
        for thread in slow:
            thread.join()


@pytest.mark.parametrize("fmt", ["GTiff", "netCDF", "PNG"])
def test_extra_dimension_is_dropped_when_single_and_refused_otherwise(tmp_path: Path,
                                                                       fmt: str) -> None:
    cube = make_cube().isel(t=0, drop=True).sel(bands=["B04"]).fillna(0)
    single = cube.expand_dims(scenario=["a"])
    (tmp_path / "single").mkdir()
    written = write_result(single, fmt, {}, tmp_path / "single")
    assert written.path.stat().st_size > 0
    double = cube.expand_dims(scenario=["a", "b"])
    with pytest.raises(OpenEOError) as err:
        write_result(double, fmt, {}, tmp_path)
    assert err.value.code == "FormatUnsuitable" and "'scenario'" in err.value.message
