"""The Explorer against the real embedded backend through the official openeo client:
preview overlay, exported code reproducing the widget's result, batch job + viewer, UDP."""
from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest

from jupyter_eo.graph.model import graphs_equal
from jupyter_eo.widgets.explorer import Explorer
from jupyter_eo.widgets.preview_run import read_geotiff

AOI = [[11.0, 46.0], [11.0, 46.012], [11.015, 46.012], [11.015, 46.0], [11.0, 46.0]]


@pytest.fixture(scope="module")
def explorer(connection) -> Explorer:
    ex = Explorer(connection, temporal_extent=("2023-06-01", "2023-07-01"), basemap_url=None, delay=0.05)
    # as the Geoman control syncs a drawn rectangle
    ex.map.draw.data = [{"type": "Feature", "properties": {},
                         "geometry": {"type": "Polygon", "coordinates": [AOI]}}]
    assert ex.preview.wait(240)
    return ex


def png_pixels(url: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def test_drawn_aoi_previews_ndvi_overlay(explorer):
    assert explorer.collection.value == "SENTINEL2_L2A"
    assert explorer.recipe.value == "NDVI"
    assert explorer.map.bbox == (11.0, 46.0, 11.015, 46.012)
    result = explorer.preview.result
    assert result is not None, explorer.preview.status.value
    finite = result.data[np.isfinite(result.data)]
    assert finite.size > 0.5 * result.data.size
    assert -1.0 <= finite.min() and finite.max() <= 1.0 and finite.std() > 0
    (south, west), (north, east) = result.bounds
    assert abs(west - 11.0) < 0.002 and abs(north - 46.012) < 0.002
    overlay = explorer.preview.overlay
    assert overlay in explorer.map.map.layers
    pixels = png_pixels(overlay.url)
    # painted (opaque, coloured) - the simulated NDVI of this small AOI is nearly uniform
    assert pixels[..., 3].mean() > 128 and len(np.unique(pixels[..., :3].reshape(-1, 3), axis=0)) >= 2
    assert pixels[pixels[..., 3] > 0][:, :3].max() > 0
    assert "NDVI" in explorer.preview.colorbar.value


def run_code(code: str, connection) -> object:
    """Execute exported lab code with ``jupyter_eo.connect`` answering ``connection``."""
    import jupyter_eo

    namespace: dict = {}
    original = jupyter_eo.connect
    jupyter_eo.connect = lambda backend_id="local", **kw: connection  # the lab proxy's job (helper S)
    try:
        exec(compile(code, "<exported>", "exec"), namespace)
    finally:
        jupyter_eo.connect = original
    return namespace["cube"]


def test_exported_code_rebuilds_the_graph_and_result(explorer, connection):
    from jupyter_eo.graph.offline import GraphOnlyConnection

    graph = explorer.graph()
    explorer.export.ending.value = "none"
    code = explorer.export.code()
    assert 'jupyter_eo.connect("local")' in code and "load_collection" in code
    # without collection metadata the client keeps band labels: the very same graph
    assert graphs_equal(run_code(code, GraphOnlyConnection()).flat_graph(), graph)
    # with the real backend (the client may address bands by index): the same numbers
    cube = run_code(code, connection)
    from_code = read_geotiff(cube.download()).data
    from_widget = read_geotiff(connection.download(graph)).data
    assert np.isfinite(from_widget).sum() > 0.5 * from_widget.size
    np.testing.assert_allclose(from_code, from_widget, equal_nan=True)
    explorer.export.ending.value = "view"


def test_batch_job_and_viewer(explorer, connection):
    job = explorer.run_batch_job(title="widget test job")
    assert job is not None, explorer.message.value
    deadline = time.time() + 120
    while job.status() not in ("finished", "error") and time.time() < deadline:
        time.sleep(0.5)
    assert job.status() == "finished"
    explorer.jobs.refresh()
    assert explorer.jobs.selected == job.job_id
    assert "finished" in explorer.jobs.details.value
    viewer = explorer.jobs.open_viewer()
    assert viewer is not None, explorer.jobs.status.value
    assert viewer.cube.sizes["y"] > 5 and viewer.image.url.startswith("data:image/png")
    explorer.jobs.show_logs()
    assert explorer.jobs.logs.layout.display == ""


def test_save_as_udp(explorer, connection):
    doc = explorer.save_udp("widget_ndvi")
    assert doc is not None, explorer.message.value
    stored = connection.user_defined_process("widget_ndvi").describe()
    assert [p["name"] for p in stored["parameters"]] == ["spatial_extent", "temporal_extent"]
    assert stored["parameters"][0]["default"]["west"] == 11.0
    load = next(n for n in stored["process_graph"].values() if n["process_id"] == "load_collection")
    assert load["arguments"]["spatial_extent"] == {"from_parameter": "spatial_extent"}
    explorer.udp_id.value = "bad id!"
    assert explorer.save_udp() is None and "jeo-error" in explorer.message.value


def test_changing_inputs_previews_again(explorer):
    before = explorer.preview.scheduler.delivered
    explorer.recipe.value = "true_colour"
    assert explorer.preview.wait(240)
    assert explorer.preview.scheduler.delivered == before + 1
    assert explorer.preview.result.data.shape[0] == 3
    assert explorer.preview.colorbar.value == ""  # RGB: no colour bar


def test_timeseries_recipe_shows_a_chart(explorer):
    explorer.recipe.value = "ndvi_timeseries"
    assert explorer.preview.wait(240)
    series = explorer.preview.series
    assert series, explorer.preview.status.value
    dates = [d for d, _ in series]
    assert dates == sorted(dates) and all("2023-06-01" <= d < "2023-07-01" for d in dates)
    values = [v for _, v in series if v == v]
    assert values and all(-1 <= v <= 1 for v in values)
    assert explorer.preview.chart.layout.display == "" and explorer.preview.chart.value[:4] == b"\x89PNG"
    explorer.recipe.value = "NDVI"
    assert explorer.preview.wait(240)


def test_no_credentials_in_widget_state(explorer, connection, backend_password):
    import json

    from ipywidgets.widgets.widget import _instances

    bearer = getattr(connection.auth, "bearer", "")
    assert bearer  # the connection (kernel side) is authenticated ...
    for widget in list(_instances.values()):  # ... but nothing synced to the browser holds it
        state = json.dumps(widget.get_state(), default=str)
        assert backend_password not in state and bearer not in state


PLAUSIBLE = {"true_colour": (0, 10_000), "false_colour": (0, 10_000), "s1_backscatter": (-40, 10), "bands": (0, 10_000),
             "ndvi_change": (-2, 2), "EVI": (-1, 2.5), "EVI2": (-1, 2.5), "SAVI": (-1.5, 1.5),
             "MSAVI": (-1, 1)}


@pytest.mark.parametrize("recipe_id", sorted(__import__("jupyter_eo.widgets.recipes",
                                                        fromlist=["RECIPES"]).RECIPES))
def test_every_recipe_runs_on_the_embedded_backend(connection, recipe_id):
    from jupyter_eo.widgets.charts import parse_timeseries
    from jupyter_eo.widgets.preview import _with_json_save
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

    recipe = RECIPES[recipe_id]
    cid = "SENTINEL1_GRD" if recipe.kind == "backscatter" else "SENTINEL2_L2A"
    if cid not in connection.list_collection_ids():
        pytest.skip(f"{cid} is not in the catalog")
    extent = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.008}
    inputs = RecipeInputs(cid, extent, ("2023-06-01", "2023-07-01"), connection.describe_collection(cid),
                          second_period=("2023-08-01", "2023-09-01"))
    if recipe.kind == "timeseries":
        series = parse_timeseries(connection.execute(_with_json_save(recipe.graph(inputs))))
        assert series and all(-1 <= v <= 1 for _, v in series if v == v)
        return
    data = read_geotiff(connection.download(recipe.graph(inputs, save_format="GTiff"))).data
    finite = data[np.isfinite(data)]
    assert finite.size > 0.5 * data.size
    low, high = PLAUSIBLE.get(recipe_id, (-1, 1))
    assert low <= finite.min() and finite.max() <= high, (finite.min(), finite.max())
    assert data.shape[0] == {"rgb": 3, "backscatter": 2}.get(recipe.kind, 1)


def test_large_aois_preview_as_xyz_tiles(connection):
    import math

    from jupyter_eo.widgets.preview import Preview
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

    meta = connection.describe_collection("SENTINEL2_L2A")
    big = {"west": 10.9, "south": 45.9, "east": 11.4, "north": 46.2}  # ~39 km: ~3900 px at 10 m
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", big, ("2023-06-01", "2023-07-01"), meta))
    preview = Preview(connection, delay=0.0)
    preview.update(graph, big, cmap="RdYlGn", range=(-1, 1), resolution_m=10.0)
    assert preview.wait(60)
    assert preview.tiles is not None and preview.tile_layer in preview.map.layers, preview.status.value
    assert preview.tile_layer.url.endswith("{z}/{x}/{y}.png") and "RdYlGn" in preview.colorbar.value
    # one tile in the middle of the AOI at zoom 12, fetched like the browser would (authenticated)
    z, lon, lat = 12, 11.15, 46.05
    x = int((lon + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2 ** z)
    template = preview.tile_layer.url
    path = template[template.index("/xyz/"):].format(z=z, x=x, y=y)
    response = connection.get(path, expected_status=200)
    assert response.content[:4] == b"\x89PNG"
    preview.vmin.value = 0.5  # restyle: the service gets the new stretch, tiles reload
    assert preview.tile_layer.url.endswith("?v=1")
    service = connection.service(preview.tiles.service_id).describe_service()
    assert service["configuration"]["min"] == 0.5
    # back to a small AOI: image overlay again, the tile service is removed
    small = {"west": 11.0, "south": 46.0, "east": 11.01, "north": 46.008}
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", small, ("2023-06-01", "2023-07-01"), meta))
    preview.update(graph, small, cmap="RdYlGn", range=(-1, 1), resolution_m=10.0)
    assert preview.wait(60)
    assert preview.tiles is None and preview.overlay in preview.map.layers
    import ipyleaflet
    assert preview.tile_layer is None
    assert not any(isinstance(layer, ipyleaflet.TileLayer) for layer in preview.map.layers)
    assert service["id"] not in [s["id"] for s in connection.list_services()]


def test_previews_use_cheap_gtiff_options_the_backend_declares(connection):
    from jupyter_eo.widgets.preview_run import fast_gtiff_options

    assert fast_gtiff_options(connection) == {"compression": "NONE", "data_type": "float32"}

    class NoFormats:
        def list_output_formats(self):
            return {"GTiff": {"parameters": {}}}

    assert fast_gtiff_options(NoFormats()) == {}  # e.g. another backend: defaults, no unknown options
