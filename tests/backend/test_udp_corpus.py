"""Published-style UDPs stored on the embedded backend and called with the official client."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rioxarray
import xarray as xr

from backend_testlib import ArrayCollection

BBOX = {"west": 500_100.0, "south": 5_599_600.0, "east": 500_500.0, "north": 5_599_900.0,
        "crs": 32631}
DATES = ["2024-05-05", "2024-05-30"]

NDVI_SAVED = {
    "parameters": [
        {"name": "bbox", "description": "Area", "schema": {"type": "object",
                                                           "subtype": "bounding-box"}},
        {"name": "dates", "description": "Interval",
         "schema": {"type": "array", "subtype": "temporal-interval"}},
        {"name": "out_format", "description": "format", "schema": {"type": "string"},
         "optional": True, "default": "netCDF"}],
    "process_graph": {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": {"from_parameter": "bbox"},
            "temporal_extent": {"from_parameter": "dates"}, "bands": ["B04", "B08"]}},
        "n": {"process_id": "ndvi", "arguments": {"data": {"from_node": "l"}}},
        "s": {"process_id": "save_result", "arguments": {
            "data": {"from_node": "n"}, "format": {"from_parameter": "out_format"}},
            "result": True}},
}


def _expected_ndvi() -> xr.DataArray:
    source = ArrayCollection().load(BBOX, DATES, ["B04", "B08"])
    red, nir = source.sel(bands="B04"), source.sel(bands="B08")
    return ((nir - red) / (nir + red)).compute()


def test_saving_udp_used_by_datacube_from_process_then_download(connection,
                                                                 tmp_path: Path) -> None:
    connection.save_user_defined_process("ndvi_saved", NDVI_SAVED["process_graph"],
                                         parameters=NDVI_SAVED["parameters"])
    cube = connection.datacube_from_process("ndvi_saved", namespace="user", bbox=BBOX,
                                            dates=DATES)
    path = tmp_path / "ndvi.tif"
    cube.reduce_dimension("t", reducer="max").download(path, format="GTiff")
    want = _expected_ndvi().max("t", skipna=True)
    with rioxarray.open_rasterio(path, masked=True) as tif:
        assert tif.rio.crs is not None and tif.rio.crs.to_epsg() == 32631
        assert tif.shape[1:] == want.shape
        assert tif.dtype == want.dtype
        np.testing.assert_allclose(tif.isel(band=0).values, want.values, rtol=1e-6,
                                   equal_nan=True)


def test_load_without_extent_then_filter_bbox_is_pushed_down(tmp_path: Path) -> None:
    """A UDP loads with spatial_extent null and filters later; the load gets the filter's box
    (the whole collection is over this backend's max_pixels, the filtered area is not)."""
    import openeo

    from backend_testlib import PASSWORD, USER, make_config
    from jupyter_eo.backend.limits import Limits
    from jupyter_eo.backend.testing import serve_in_thread

    limits = Limits(max_body_bytes=2 * 1024 * 1024, sync_timeout_s=60, max_pixels=15_000)
    graph = {
        "l": {"process_id": "load_collection", "arguments": {
            "id": "TEST_S2", "spatial_extent": None, "temporal_extent": DATES,
            "bands": ["B04", "B08"]}},
        "f": {"process_id": "filter_bbox", "arguments": {
            "data": {"from_node": "l"}, "extent": {"from_parameter": "bbox"}}},
        "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "f"},
                                                         "format": "netCDF"}, "result": True}}
    with serve_in_thread(make_config(tmp_path / "state", limits=limits)) as url:
        con = openeo.connect(url)
        con.authenticate_basic(USER, PASSWORD)
        con.save_user_defined_process("late_bbox", graph, parameters=[
            {"name": "bbox", "description": "area", "schema": {"type": "object"}}])
        literal = {"f": {**graph["f"], "arguments": {**graph["f"]["arguments"],
                                                     "extent": BBOX}}}
        path = tmp_path / "late.nc"
        con.download({**graph, **literal}, path)  # top-level graph, literal extent
        with xr.open_dataset(path) as ds:
            assert ds.sizes["x"] == 40 and ds.sizes["y"] == 30
        path = tmp_path / "late_udp.tif"
        con.datacube_from_process("late_bbox", namespace="user", bbox=BBOX) \
            .download(path, format="GTiff")
        want = ArrayCollection().load(BBOX, DATES, ["B04", "B08"])
        with rioxarray.open_rasterio(path, masked=True) as tif:
            assert tif.shape == (want.sizes["t"] * 2, 30, 40)
            assert tif.rio.crs.to_epsg() == 32631


# --- the corpus: tests/data/udp_corpus/*.json, realistic published-style UDPs -----------------

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "udp_corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.json"))


def _corpus_doc(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    """A backend over the simulated Sentinel collections with every corpus UDP stored."""
    import openeo

    from backend_testlib import PASSWORD, USER, make_config
    from jupyter_eo.backend.catalog.registry import default_catalog
    from jupyter_eo.backend.testing import serve_in_thread

    root = tmp_path_factory.mktemp("corpus")
    catalog = default_catalog(cache_dir=root / "cache", samples_dir=root / "no-samples")
    with serve_in_thread(make_config(root / "state", catalog=catalog)) as url:
        con = openeo.connect(url)
        con.authenticate_basic(USER, PASSWORD)
        for path in CORPUS:
            doc = _corpus_doc(path)
            con.save_user_defined_process(doc["id"], doc["process_graph"],
                                          parameters=doc["parameters"],
                                          summary=doc["summary"],
                                          description=doc["description"],
                                          returns=doc.get("returns"),
                                          categories=doc.get("categories"))
        yield con


def test_corpus_covers_the_published_patterns() -> None:
    text = "\n".join(p.read_text() for p in CORPUS)
    assert len(CORPUS) >= 12
    for needle in ('"array_create"', '"if"', '"any"', '"save_result"', '"filter_spatial"',
                   '"aggregate_spatial"', '"spatial_extent": null', '"namespace": "user"',
                   '"bounding-box"', '"temporal-interval"', '"geojson"', '"enum"',
                   '"boolean"', '"SENTINEL1_GRD"', '"to_scl_dilation_mask"',
                   '"sar_backscatter"', '"sunZenithAngles"', '"ESA_WORLDCOVER_10M_2021_V2"'):
        assert needle in text, needle


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_document_validates_with_its_own_parameters(simulated, path: Path) -> None:
    doc = _corpus_doc(path)
    errors = simulated.post("/validation", json=doc, expected_status=200).json()["errors"]
    assert errors == []


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_udp_runs_by_datacube_from_process(simulated, path: Path,
                                                  tmp_path: Path) -> None:
    import json

    doc = _corpus_doc(path)
    arguments = doc["examples"][0]["arguments"]
    call = {"u": {"process_id": doc["id"], "namespace": "user", "arguments": arguments,
                  "result": True}}
    assert simulated.post("/validation", json={"process_graph": call},
                          expected_status=200).json()["errors"] == []
    cube = simulated.datacube_from_process(doc["id"], namespace="user", **arguments)
    saved = next(n for n in doc["process_graph"].values() if n.get("result"))
    fmt = saved["arguments"]["format"] if saved["process_id"] == "save_result" else "GTiff"
    fmt = fmt if isinstance(fmt, str) else "GTiff"
    out = tmp_path / f"out.{ {'GTiff': 'tif', 'netCDF': 'nc', 'JSON': 'json'}[fmt] }"
    cube.download(out, format=fmt)
    if fmt == "JSON":
        values = json.loads(out.read_text())
        flat = json.dumps(values)
        assert any(ch.isdigit() for ch in flat)
        return
    if fmt == "netCDF":
        with xr.open_dataset(out) as ds:
            data = ds["data"].values if "data" in ds else ds[list(ds.data_vars)[-1]].values
            assert "spatial_ref" in ds.variables or "crs" in ds.variables
    else:
        with rioxarray.open_rasterio(out, masked=True) as tif:
            assert tif.rio.crs is not None, "GTiff without CRS"
            data = tif.values
    assert data.size > 0 and np.isfinite(data).any()


def test_backend_specific_processes_are_marked_in_processes(simulated) -> None:
    listed = {p["id"]: p for p in simulated.list_processes()}
    assert "backend-specific" in listed["to_scl_dilation_mask"]["categories"]
    assert "sar_backscatter" in listed  # an openEO proposal, not backend-specific
    assert "backend-specific" not in listed["sar_backscatter"].get("categories", [])


def test_docs_state_the_corpus_size() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "backend-specific.md").read_text()
    assert f"the {len(CORPUS)} UDPs in `tests/data/udp_corpus`" in page
