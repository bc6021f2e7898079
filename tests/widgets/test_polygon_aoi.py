"""Polygon AOIs clip the result: the rectangle test, recipe graphs (rectangles keep the bbox graph),
and, on the embedded backend through the real openeo client, the Explorer's preview (GeoTIFF and
XYZ tiles), exported code and batch job give no-data outside the polygon and values inside."""
from __future__ import annotations

import base64
import io
import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from jupyter_eo.graph.validate import validate_graph
from jupyter_eo.specs import process_spec
from jupyter_eo.widgets.geometry import (AOIInvalid, bbox_geometry, geometry_bbox, is_rectangle,
                                         load_extent, normalize_geometry, spatial_extent)
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

from .conftest import s1_metadata, s2_metadata

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1}
FIELD = {"type": "Polygon", "coordinates": [[[11.0, 46.0], [11.1, 46.0], [11.06, 46.1], [11.0, 46.04],
                                             [11.0, 46.0]]]}
INPUTS = RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-09-01"), s2_metadata(),
                      second_period=("2022-06-01", "2022-09-01"))


def polygon(ring: list) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def loads(graph: dict) -> list[dict]:
    return [n for n in graph.values() if n["process_id"] == "load_collection"]


def inputs_for(recipe_id: str, **changes: Any) -> RecipeInputs:
    inputs = INPUTS if RECIPES[recipe_id].kind != "backscatter" else replace(
        INPUTS, collection_id="SENTINEL1_GRD", metadata=s1_metadata())
    return replace(inputs, **changes)


# -- the rectangle test ---------------------------------------------------------------------------
@pytest.mark.parametrize("ring", [
    [[11.0, 46.0], [11.1, 46.0], [11.1, 46.1], [11.0, 46.1], [11.0, 46.0]],  # counter-clockwise
    [[11.0, 46.0], [11.0, 46.1], [11.1, 46.1], [11.1, 46.0], [11.0, 46.0]],  # clockwise (Geoman)
    [[11.1, 46.1], [11.0, 46.1], [11.0, 46.0], [11.1, 46.0], [11.1, 46.1]],  # other start corner
    [[11.0, 46.0], [11.05, 46.0], [11.1, 46.0], [11.1, 46.1], [11.0, 46.1], [11.0, 46.0]],  # extra point on an edge
    [[371.0, 46.0], [371.1, 46.0], [371.1, 46.1], [371.0, 46.1], [371.0, 46.0]],  # panned a turn east
])
def test_axis_aligned_rectangles_are_rectangles(ring):
    assert is_rectangle(polygon(ring))


def test_a_rectangle_split_at_the_antimeridian_is_a_rectangle():
    split = bbox_geometry(170.0, -10.0, -170.0, 10.0)
    assert split["type"] == "MultiPolygon" and geometry_bbox(split) == (170.0, -10.0, -170.0, 10.0)
    assert is_rectangle(split)
    # as Leaflet reports a rectangle drawn across the dateline after panning there
    assert is_rectangle(polygon([[170.0, -10.0], [190.0, -10.0], [190.0, 10.0], [170.0, 10.0], [170.0, -10.0]]))


@pytest.mark.parametrize("geometry", [
    FIELD,
    polygon([[11.0, 46.0], [11.1, 46.0], [11.1, 46.1], [11.0, 46.0]]),  # triangle
    polygon([[11.0, 46.0], [11.1, 46.0], [11.1, 46.1], [11.0, 46.1000001], [11.0, 46.0]]),  # hardly slanted
    {"type": "Polygon", "coordinates": [  # rectangle with a hole
        [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.2]]]},
    {"type": "MultiPolygon", "coordinates": [  # two fields, each a rectangle, apart
        [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]]},
    polygon([[170.0, 0.0], [190.0, 0.0], [185.0, 10.0], [170.0, 0.0]]),  # triangle across the dateline
])
def test_other_shapes_are_not_rectangles(geometry):
    assert not is_rectangle(geometry)


def test_load_extent_keeps_the_bbox_for_rectangles_and_gives_geojson_otherwise():
    bbox = dict(EXTENT)
    assert load_extent(None, bbox) == bbox
    rectangle = polygon([[11.0, 46.0], [11.0, 46.1], [11.1, 46.1], [11.1, 46.0], [11.0, 46.0]])
    assert load_extent(rectangle, bbox) == bbox and load_extent(rectangle, bbox) is not bbox
    assert load_extent(FIELD, bbox) == normalize_geometry(FIELD)
    feature = {"type": "Feature", "properties": {}, "geometry": polygon([[371, 0], [372, 0], [371.5, 1], [371, 0]])}
    assert load_extent(feature, bbox) == polygon([[11.0, 0.0], [12.0, 0.0], [11.5, 1.0], [11.0, 0.0]])
    bow_tie = polygon([[11.0, 46.0], [11.1, 46.1], [11.1, 46.0], [11.0, 46.1], [11.0, 46.0]])  # crossing edges
    repaired = load_extent(bow_tie, bbox)
    assert repaired["type"] == "MultiPolygon" and len(repaired["coordinates"]) == 2
    from shapely.geometry import shape
    assert shape(repaired).is_valid and abs(shape(repaired).area - 0.005) < 1e-9
    with pytest.raises(AOIInvalid, match="no area"):
        load_extent(polygon([[0, 0], [1, 1], [2, 2], [0, 0]]), bbox)
    with pytest.raises(AOIInvalid):
        load_extent({"type": "Point", "coordinates": [11, 46]}, bbox)


# -- recipe graphs --------------------------------------------------------------------------------
@pytest.mark.parametrize("recipe_id", sorted(RECIPES))
def test_rectangles_keep_exactly_the_bbox_graph(recipe_id):
    today = RECIPES[recipe_id].graph(inputs_for(recipe_id), save_format="GTiff")
    for ring in ([[11.0, 46.0], [11.0, 46.1], [11.1, 46.1], [11.1, 46.0], [11.0, 46.0]],
                 [[11.1, 46.1], [11.0, 46.1], [11.0, 46.0], [11.1, 46.0], [11.1, 46.1]]):
        inputs = inputs_for(recipe_id, geometry=polygon(ring))
        graph = RECIPES[recipe_id].graph(inputs, save_format="GTiff")
        if RECIPES[recipe_id].kind == "timeseries":  # aggregates over the drawn geometry as before
            (agg,) = [n for n in graph.values() if n["process_id"] == "aggregate_spatial"]
            assert agg["arguments"]["geometries"] == polygon(ring)
            continue
        assert graph == today
    assert all(load["arguments"]["spatial_extent"] == EXTENT for load in loads(today))


@pytest.mark.parametrize("recipe_id", sorted(RECIPES))
def test_polygons_clip_every_load_and_the_graph_validates(recipe_id):
    graph = RECIPES[recipe_id].graph(inputs_for(recipe_id, geometry=FIELD), save_format="GTiff")
    assert loads(graph) and all(load["arguments"]["spatial_extent"] == normalize_geometry(FIELD)
                                for load in loads(graph))
    problems = validate_graph(graph, lambda pid, ns: process_spec(pid), parameters=[])
    assert problems == [], [p.message for p in problems]


def test_change_recipe_clips_both_periods():
    graph = RECIPES["ndvi_change"].graph(replace(INPUTS, geometry=FIELD))
    periods = sorted(tuple(load["arguments"]["temporal_extent"]) for load in loads(graph))
    assert periods == [("2022-06-01", "2022-09-01"), ("2023-06-01", "2023-09-01")]
    assert all(load["arguments"]["spatial_extent"]["type"] == "Polygon" for load in loads(graph))


def test_dateline_multipolygon_is_loaded_as_multipolygon():
    aoi = normalize_geometry(polygon([[179.0, -17.0], [181.0, -17.0], [180.5, -16.0], [179.0, -17.0]]))
    assert aoi["type"] == "MultiPolygon"
    inputs = replace(INPUTS, spatial_extent=spatial_extent(geometry_bbox(aoi)), geometry=aoi)
    (load,) = loads(RECIPES["NDVI"].graph(inputs))
    assert load["arguments"]["spatial_extent"] == aoi
    west, south, east, north = geometry_bbox(aoi)
    assert west > east  # the preview still covers the wrapped bbox


# -- end to end on the embedded backend ----------------------------------------------------------
BOX = (11.0, 46.0, 11.015, 46.012)  # ~1.2 km: native 10 m previews, no resampling
TRIANGLE = polygon([[11.0, 46.0], [11.015, 46.0], [11.0, 46.012], [11.0, 46.0]])  # south-west half
PERIOD = ("2023-06-01", "2023-07-01")


@pytest.fixture(scope="module")
def explorer(connection) -> Any:
    from jupyter_eo.widgets.explorer import Explorer

    ex = Explorer(connection, temporal_extent=PERIOD, basemap_url=None, delay=0.05)
    ex.map.draw.data = [{"type": "Feature", "properties": {}, "geometry": TRIANGLE}]  # drawn polygon
    assert ex.preview.wait(240)
    return ex


def sides(field: Any, xs: np.ndarray, ys: np.ndarray, margin: float) -> np.ndarray:
    """+1 for points more than ``margin`` inside ``field``, -1 more than ``margin`` outside, else 0."""
    import shapely

    inside = shapely.contains_xy(field, xs, ys)
    far = shapely.distance(field.boundary, shapely.points(xs, ys)) > margin
    return np.where(far, np.where(inside, 1, -1), 0)


def decode_geotiff(payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(first band with NaN for no-data, :func:`sides` of the pixel centres for TRIANGLE with a
    1.5-pixel margin)."""
    import rasterio
    from pyproj import Transformer
    from shapely.geometry import shape
    from shapely.ops import transform

    with rasterio.MemoryFile(payload) as memfile, memfile.open() as src:
        data = src.read(1, masked=True).astype("float64").filled(np.nan)
        to_crs = Transformer.from_crs(4326, src.crs, always_xy=True).transform
        field = transform(to_crs, shape(TRIANGLE))
        rows, cols = np.meshgrid(np.arange(data.shape[0]), np.arange(data.shape[1]), indexing="ij")
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        side = sides(field, np.asarray(xs), np.asarray(ys), 1.5 * abs(src.transform.a))
    return data, side.reshape(data.shape)


def assert_clipped(data: np.ndarray, side: np.ndarray) -> None:
    assert (side == 1).sum() > 0.3 * data.size and (side == -1).sum() > 0.3 * data.size
    assert not np.isfinite(data[side == -1]).any(), "values outside the polygon"
    assert np.isfinite(data[side == 1]).mean() > 0.9, "no-data inside the polygon"


def test_explorer_graph_loads_the_drawn_polygon(explorer):
    assert explorer.map.bbox == BOX
    (load,) = loads(explorer.graph())
    assert load["arguments"]["spatial_extent"] == TRIANGLE


def test_polygon_result_is_nodata_outside_and_matches_the_rectangle_inside(explorer, connection):
    clipped, side = decode_geotiff(connection.download(explorer.graph()))
    assert_clipped(clipped, side)
    # the same recipe over the polygon's bbox: identical grid and identical values inside
    inputs = replace(explorer.inputs(), geometry=bbox_geometry(*BOX))
    (load,) = loads(RECIPES["NDVI"].graph(inputs))
    assert load["arguments"]["spatial_extent"] == spatial_extent(BOX)
    full, _ = decode_geotiff(connection.download(RECIPES["NDVI"].graph(inputs, save_format="GTiff")))
    assert full.shape == clipped.shape and np.isfinite(full[side == -1]).mean() > 0.9
    inside = np.isfinite(clipped)
    np.testing.assert_array_equal(clipped[inside], full[inside])


def png_alpha(url: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))[..., 3]


def test_preview_overlay_is_transparent_outside_the_polygon(explorer):
    result = explorer.preview.result
    assert result is not None, explorer.preview.status.value
    (south, west), (north, east) = result.bounds  # the overlay covers the polygon's bbox
    assert abs(west - BOX[0]) < 0.002 and abs(east - BOX[2]) < 0.002 and abs(north - BOX[3]) < 0.002
    alpha = png_alpha(explorer.preview.overlay.url)
    data = result.data[0]
    assert alpha.shape == data.shape
    np.testing.assert_array_equal(alpha == 0, ~np.isfinite(data))
    rows, cols = alpha.shape
    # well inside the triangle (south-west) painted, north-east corner transparent
    assert alpha[int(rows * 0.7):int(rows * 0.9), int(cols * 0.1):int(cols * 0.3)].min() == 255
    assert alpha[:int(rows * 0.3), int(cols * 0.7):].max() == 0


def test_exported_code_round_trips_and_gives_the_clipped_result(explorer, connection):
    import jupyter_eo
    from jupyter_eo.graph.model import graphs_equal
    from jupyter_eo.graph.offline import GraphOnlyConnection

    graph = explorer.graph()
    explorer.export.ending.value = "none"  # the cube only (the cell's download + viewer ending aside)
    code = explorer.export.code()
    assert "connection.load_collection(" in code and '"type": "Polygon"' in code

    def run(con: Any) -> Any:
        namespace: dict = {}
        original = jupyter_eo.connect
        jupyter_eo.connect = lambda backend_id="local", **kw: con
        try:
            exec(compile(code, "<exported>", "exec"), namespace)
        finally:
            jupyter_eo.connect = original
        return namespace["cube"]

    assert graphs_equal(run(GraphOnlyConnection()).flat_graph(), graph)
    cube = run(connection)  # the real client with collection metadata
    (load,) = [n for n in cube.flat_graph().values() if n["process_id"] == "load_collection"]
    assert load["arguments"]["spatial_extent"] == TRIANGLE
    from_code, side = decode_geotiff(cube.download())
    assert_clipped(from_code, side)
    from_widget, _ = decode_geotiff(connection.download(graph))
    np.testing.assert_allclose(from_code, from_widget, equal_nan=True)


def test_batch_job_result_is_clipped(explorer, connection):
    job = explorer.run_batch_job(title="polygon job")
    assert job is not None, explorer.message.value
    deadline = time.monotonic() + 120
    while job.status() not in ("finished", "error") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job.status() == "finished", job.logs()
    (asset,) = [a for a in job.get_results().get_assets() if a.href.split("?")[0].endswith((".tif", ".tiff"))]
    data, side = decode_geotiff(asset.load_bytes())
    assert_clipped(data, side)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    x = int((lon + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2 ** z)
    return x, y


def test_xyz_tile_preview_is_transparent_outside_the_polygon(explorer, connection):
    from PIL import Image
    from pyproj import Transformer
    from shapely.geometry import shape

    from jupyter_eo.widgets.preview import Preview

    graph = explorer.graph(save_format=None)
    preview = Preview(connection, delay=0.0, tiles_above=1)  # force tiles for this small AOI
    try:
        preview.update(graph, spatial_extent(BOX), cmap="RdYlGn", range=(-1, 1), resolution_m=10.0)
        assert preview.wait(60)
        assert preview.tiles is not None, preview.status.value
        template = preview.tile_layer.url
        z = 15
        x, y = tile_of(11.004, 46.008, z)  # a tile the triangle's long edge crosses

        def fetch(tx: int, ty: int) -> np.ndarray:
            path = template[template.index("/xyz/"):].format(z=z, x=tx, y=ty)
            content = connection.get(path, expected_status=200).content
            return np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))[..., 3]

        alpha = fetch(x, y)
        size = alpha.shape[0]
        world = 2 * 20037508.342789244
        span = world / 2 ** z
        to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True).transform
        margin = 3 * (span / size) / 111_320  # 3 tile pixels in degrees of longitude (>= 2 in latitude)
        rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
        lons, lats = to_lonlat(-world / 2 + (x + (cols + 0.5) / size) * span,
                               world / 2 - (y + (rows + 0.5) / size) * span)
        side = sides(shape(TRIANGLE), lons, lats, margin)
        in_box = (BOX[0] < lons) & (lons < BOX[2]) & (BOX[1] < lats) & (lats < BOX[3])
        # the tile holds pixels inside the triangle and pixels inside its bbox but outside it
        assert (side == 1).sum() > 1000 and ((side == -1) & in_box).sum() > 1000
        assert alpha[side == -1].max() == 0
        assert (alpha[side == 1] > 0).mean() > 0.9
        # a tile beyond the polygon's bbox (east of it) is fully transparent
        assert fetch(x + 3, y).max() == 0
    finally:
        preview.cancel()
        preview._drop_tiles()


@pytest.mark.parametrize("recipe_id", ["true_colour", "NDVI"])
def test_backend_png_is_transparent_outside_the_polygon(explorer, connection, recipe_id):
    from PIL import Image

    graph = RECIPES[recipe_id].graph(explorer.inputs(), save_format="PNG")
    (load,) = loads(graph)
    assert load["arguments"]["spatial_extent"] == TRIANGLE
    png = np.asarray(Image.open(io.BytesIO(connection.download(graph))).convert("RGBA"))
    data, side = decode_geotiff(connection.download(RECIPES[recipe_id].graph(explorer.inputs(), save_format="GTiff")))
    assert png.shape[:2] == data.shape
    assert png[..., 3][side == -1].max() == 0
    assert (png[..., 3][side == 1] == 255).mean() > 0.9


def test_rgb_preview_overlay_is_transparent_outside_the_polygon(explorer):
    try:
        explorer.recipe.value = "true_colour"
        assert explorer.preview.wait(240)
        result = explorer.preview.result
        assert result is not None and result.data.shape[0] == 3, explorer.preview.status.value
        alpha = png_alpha(explorer.preview.overlay.url)
        np.testing.assert_array_equal(alpha == 0, ~np.isfinite(result.data).all(axis=0))
        rows, cols = alpha.shape
        assert alpha[int(rows * 0.7):int(rows * 0.9), int(cols * 0.1):int(cols * 0.3)].min() == 255
        assert alpha[:int(rows * 0.3), int(cols * 0.7):].max() == 0
    finally:
        explorer.recipe.value = "NDVI"
        assert explorer.preview.wait(240)


def test_polygon_time_series_runs(explorer, connection):
    from jupyter_eo.widgets.charts import parse_timeseries
    from jupyter_eo.widgets.preview import _with_json_save

    graph = RECIPES["ndvi_timeseries"].graph(explorer.inputs())
    (load,) = loads(graph)
    assert load["arguments"]["spatial_extent"] == TRIANGLE
    series = parse_timeseries(connection.execute(_with_json_save(graph)))
    values = [v for _, v in series if v == v]
    assert len(values) >= 3 and all(-1 <= v <= 1 for v in values)


def test_saved_udp_keeps_the_polygon_as_default_extent(explorer, connection):
    doc = explorer.save_udp("polygon_ndvi")
    assert doc is not None, explorer.message.value
    stored = connection.user_defined_process("polygon_ndvi").describe()
    assert stored["parameters"][0]["name"] == "spatial_extent"
    assert stored["parameters"][0]["default"] == TRIANGLE
    cube = connection.datacube_from_process("polygon_ndvi", namespace="user")
    data, side = decode_geotiff(cube.save_result("GTiff").download())
    assert_clipped(data, side)


def test_backend_size_estimate_of_a_polygon_load_is_that_of_its_bbox(connection):
    from jupyter_eo.backend.limits import estimate_pixels

    meta = connection.describe_collection("SENTINEL2_L2A")

    class Catalog:  # the one collection, with the metadata the backend publishes
        def get(self, collection_id: str) -> Any:
            return type("Collection", (), {"metadata": staticmethod(lambda: meta)})()

    def estimate(geometry: dict) -> int:
        inputs = RecipeInputs("SENTINEL2_L2A", spatial_extent(BOX), PERIOD, meta, geometry=geometry)
        return estimate_pixels([RECIPES["NDVI"].graph(inputs)], Catalog())

    by_bbox = estimate(bbox_geometry(*BOX))
    assert 0 < by_bbox < 10_000_000  # ~1.2 km x 1.3 km, a month, 3 bands at 10 m
    assert estimate(TRIANGLE) == by_bbox
    assert estimate({"type": "Feature", "properties": {}, "geometry": TRIANGLE}) == by_bbox


def test_explorer_says_the_result_is_clipped(explorer):
    assert explorer.clipped() and explorer.run_preview()
    assert "Clipped to the drawn polygon" in explorer.message.value
    assert explorer.preview.wait(240)
    from jupyter_eo.widgets.explorer import Explorer

    other = Explorer(explorer.connection, temporal_extent=PERIOD, basemap_url=None, auto_preview=False)
    other.map.aoi = bbox_geometry(*BOX)  # a rectangle: bbox graph, no note
    assert not other.clipped()
    assert other.run_preview() and other.message.value == ""
    other.preview.cancel()
    (load,) = loads(other.graph())
    assert load["arguments"]["spatial_extent"] == spatial_extent(BOX)


def test_resampled_preview_keeps_the_polygon_mask(explorer, connection):
    from jupyter_eo.widgets.colormaps import render
    from jupyter_eo.widgets.preview_run import preview_graph, run_preview

    graph = explorer.graph(save_format=None)
    extent = spatial_extent(BOX)
    cheap = preview_graph(graph, extent, max_pixels=48)
    assert any(n["process_id"] == "resample_spatial" for n in cheap.values())
    result = run_preview(connection, graph, extent, max_pixels=48)  # no native resolution: resampled
    assert result.crs.endswith("3857") and max(result.data.shape[-2:]) <= 52
    data = result.data[0]
    rows, cols = data.shape
    assert np.isfinite(data[int(rows * 0.7):int(rows * 0.9), int(cols * 0.1):int(cols * 0.3)]).all()
    assert not np.isfinite(data[:int(rows * 0.3), int(cols * 0.7):]).any()
    assert 0.3 < np.isfinite(data).mean() < 0.7  # about half of the bbox
    from PIL import Image

    png, _ = render(data, cmap="RdYlGn", vmin=-1, vmax=1)
    alpha = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))[..., 3]
    np.testing.assert_array_equal(alpha == 0, ~np.isfinite(data))
