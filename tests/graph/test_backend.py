"""Generated code and UDPs against the embedded backend (served in-process), with the real client.

The client fetches collection metadata from the backend, so ``cube.band("B08")`` becomes an index there: graphs may differ in that
detail, results must not.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import openeo

from jupyter_eo.backend import app as backend_app
from jupyter_eo.backend import testing
from jupyter_eo.backend.catalog import registry
from jupyter_eo.graph import GraphBuilder, from_json, to_python
from jupyter_eo.graph.udp import inline_udp, load_udp, make_udp, namespace_url, parameterize, save_udp, use_udp

from . import recipes

USER, PASSWORD = "graph-tester", "graph-tester-pw"
TINY = {"west": 5.05, "south": 51.21, "east": 5.06, "north": 51.215}
JUNE = ["2023-06-01", "2023-07-01"]
FIELDS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "a"}, "geometry": {
        "type": "Polygon", "coordinates": [[[5.051, 51.211], [5.054, 51.211], [5.054, 51.213], [5.051, 51.211]]]}},
    {"type": "Feature", "properties": {"name": "b"}, "geometry": {
        "type": "Polygon", "coordinates": [[[5.055, 51.212], [5.058, 51.212], [5.058, 51.214], [5.055, 51.212]]]}},
]}
# recipes run against the backend (others need data the embedded backend does not have, e.g. LANDSAT8)
BACKEND_RECIPES = ["true_colour", "false_colour", "ndvi_process", "ndvi_band_math", "ndwi_scaled", "evi_scaled",
                   "savi_scaled", "cloud_masked_median", "cloud_mask_separate_scl", "s1_backscatter_db",
                   "s1_cross_ratio", "change_two_periods", "change_filter_temporal", "ndvi_timeseries",
                   "monthly_composite", "aggregate_spatial_polygon", "nested_callbacks",
                   "function_style_processes", "properties_filter", "run_udf_timeseries",
                   "run_udf_pixelwise_context"]


@pytest.fixture(scope="module")
def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("graph-backend")
    catalog = registry.default_catalog(cache_dir=root / "cache", samples_dir=root / "samples")
    config = backend_app.BackendConfig(data_dir=root / "state", users={USER: PASSWORD}, catalog=catalog,
                                       udf_enabled=True)
    with testing.serve_in_thread(config) as url:
        yield url


@pytest.fixture
def connection(backend_url: str) -> Any:
    return openeo.connect(backend_url).authenticate_basic(USER, PASSWORD)


@pytest.fixture
def small_recipes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipes, "AOI", TINY)
    monkeypatch.setattr(recipes, "SUMMER", JUNE)
    monkeypatch.setattr(recipes, "FIELDS", FIELDS)


def run_generated(code: str, connection: Any) -> dict[str, Any]:
    source = code.replace('jupyter_eo.connect("local")', "__connection__").replace("import jupyter_eo\n", "")
    namespace: dict[str, Any] = {"__connection__": connection}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace


def decode(payload: bytes) -> Any:
    """A comparable value for a result: array values for rasters, parsed JSON otherwise."""
    if payload[:1] in (b"{", b"[", b'"'):
        return json.loads(payload)
    if payload[:4] == b"\x89PNG":
        from PIL import Image
        return np.asarray(Image.open(io.BytesIO(payload)))
    import xarray as xr
    import rioxarray  # noqa: F401
    if payload[:4] == b"\x89HDF" or payload[:3] == b"CDF":
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "result.nc"
            path.write_bytes(payload)
            with xr.open_dataset(path, engine="netcdf4") as ds:
                return {name: ds[name].values for name in ds.data_vars if name not in ("crs", "spatial_ref")}
    with rioxarray.open_rasterio(io.BytesIO(payload), masked=True) as tif:
        return tif.values


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"),
                                   rtol=1e-6, equal_nan=True)
    else:
        assert a == b


def with_output(graph: dict[str, Any]) -> dict[str, Any]:
    """The graph, ending in save_result (GTiff, or JSON for vector cubes) when it did not."""
    processes = {node["process_id"] for node in graph.values()}
    if "save_result" in processes:
        return graph
    result = next(node_id for node_id, node in graph.items() if node.get("result"))
    graph = json.loads(json.dumps(graph))
    del graph[result]["result"]
    graph["saveresult1"] = {"process_id": "save_result", "result": True, "arguments": {
        "data": {"from_node": result}, "format": "JSON" if "aggregate_spatial" in processes else "GTiff",
        "options": {}}}
    return graph


@pytest.mark.parametrize("name", BACKEND_RECIPES)
def test_generated_code_gives_the_same_result_as_the_graph(name: str, connection: Any, small_recipes: None) -> None:
    document, options = recipes.RECIPES[name]()
    graph = with_output(from_json(document)["process_graph"])
    expected = connection.download(graph)
    actual = run_generated(to_python(graph), connection)["cube"].download()
    assert len(expected) > 100
    decoded = decode(expected)
    if "aggregate_spatial" in {node["process_id"] for node in graph.values()}:
        assert isinstance(decoded, dict) and "VectorCube(" not in json.dumps(decoded)
    assert_same(decoded, decode(actual))


def test_udp_saved_listed_and_used_by_id_and_namespace_url(connection: Any, small_recipes: None) -> None:
    source = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=TINY, temporal_extent=JUNE,
                                            bands=["B04", "B08"])
    graph = source.ndvi(nir="B08", red="B04").reduce_time("max").to_dict()
    parameterized, parameters = parameterize(graph)
    document = make_udp(parameterized, "graph_ndvi_max", parameters, summary="NDVI maximum")
    save_udp(connection, document)
    assert "graph_ndvi_max" in [p["id"] for p in connection.list_user_defined_processes()]

    other_aoi = {"west": 5.052, "south": 51.211, "east": 5.058, "north": 51.214}
    direct = json.loads(json.dumps(graph).replace(json.dumps(TINY), json.dumps(other_aoi)))
    assert direct != graph
    expected = decode(connection.download(direct))

    by_id = use_udp(connection, "graph_ndvi_max", spatial_extent=other_aoi)
    assert_same(decode(by_id.download()), expected)

    by_default = decode(use_udp(connection, "graph_ndvi_max").download())
    assert by_default.shape != expected.shape  # the default (original) extent was substituted

    url = namespace_url(connection, "graph_ndvi_max")
    assert url.startswith(connection.build_url("/")) and url.endswith("/process_graphs/graph_ndvi_max")
    loaded = load_udp(url, connection)
    assert loaded["id"] == "graph_ndvi_max" and [p["name"] for p in loaded["parameters"]] == [
        "spatial_extent", "temporal_extent"]
    call = {"udp1": {"process_id": "graph_ndvi_max", "namespace": url,
                     "arguments": {"spatial_extent": other_aoi}, "result": True}}
    assert_same(decode(connection.download(inline_udp(call, loaded))), expected)


def test_backend_resolves_udp_namespace_url(connection: Any, small_recipes: None) -> None:
    source = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=TINY, temporal_extent=JUNE,
                                            bands=["B04", "B08"])
    graph = source.ndvi(nir="B08", red="B04").reduce_time("mean").to_dict()
    parameterized, parameters = parameterize(graph)
    save_udp(connection, make_udp(parameterized, "graph_ndvi_url", parameters))
    url = namespace_url(connection, "graph_ndvi_url")
    cube = use_udp(connection, "graph_ndvi_url", namespace=url, spatial_extent=TINY)
    assert_same(decode(cube.download(format="GTiff")), decode(connection.download(
        with_output(graph))))


def test_generated_udp_code_saves_the_udp(connection: Any, small_recipes: None) -> None:
    document, options = recipes.RECIPES["udp_with_parameters"]()
    code = to_python(document, **options)
    run_generated(code, connection)
    saved = connection.user_defined_process("ndvi_composite").describe()
    assert [p["name"] for p in saved["parameters"]] == ["spatial_extent", "temporal_extent", "scale"]
    cube = use_udp(connection, "ndvi_composite", spatial_extent=TINY, temporal_extent=JUNE, scale=2)
    doubled = decode(cube.download())
    single = decode(use_udp(connection, "ndvi_composite", spatial_extent=TINY, temporal_extent=JUNE).download())
    np.testing.assert_allclose(doubled, single * 2, rtol=1e-6, equal_nan=True)
