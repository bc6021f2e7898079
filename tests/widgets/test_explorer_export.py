"""What the user guide says about exported code, checked: run with the real openeo client against
the real backend, the code rebuilds an *equivalent* graph (bands may be addressed by position
where the widget uses labels), and the inserted cell ends with something visible."""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from jupyter_eo.graph.model import graphs_equal
from jupyter_eo.widgets.explorer import Explorer

AOI = (11.0, 46.0, 11.01, 46.008)


def _band_lists(graph: dict[str, Any]) -> dict[str, list[str]]:
    """The band labels of every node's output, where the graph states them."""
    bands: dict[str, list[str]] = {}
    pending = list(graph)
    while pending:
        progressed = False
        for node_id in list(pending):
            node = graph[node_id]
            args = node["arguments"]
            source = args.get("data", {}).get("from_node") if isinstance(args.get("data"), dict) else None
            if source is not None and source in pending:
                continue
            if node["process_id"] == "load_collection" and args.get("bands"):
                bands[node_id] = list(args["bands"])
            elif node["process_id"] == "filter_bands":
                bands[node_id] = list(args["bands"])
            elif source in bands and not (node["process_id"] == "reduce_dimension"
                                          and args.get("dimension") == "bands"):
                bands[node_id] = bands[source]
            pending.remove(node_id)
            progressed = True
        if not progressed:
            break
    return bands


def resolve_band_indices(graph: dict[str, Any]) -> dict[str, Any]:
    """``graph`` with every ``array_element(data, index=i)`` of a bands reducer written as
    ``array_element(data, label=<band i>)`` (the two are equivalent in openEO)."""
    graph = copy.deepcopy(graph)
    bands = _band_lists(graph)
    for node_id, node in graph.items():
        args = node["arguments"]
        if node["process_id"] != "reduce_dimension" or args.get("dimension") != "bands":
            continue
        labels = bands.get(args["data"]["from_node"])
        for inner in args["reducer"]["process_graph"].values():
            a = inner["arguments"]
            if inner["process_id"] == "array_element" and "index" in a and labels is not None:
                a["label"] = labels[a.pop("index")]
    return graph


@pytest.fixture(scope="module")
def explorer(connection) -> Explorer:
    return Explorer(connection, aoi=AOI, temporal_extent=("2023-06-01", "2023-07-01"), basemap_url=None,
                    auto_preview=False)


def run(code: str, connection, namespace: dict | None = None) -> dict:
    import jupyter_eo

    namespace = {} if namespace is None else namespace
    original = jupyter_eo.connect
    jupyter_eo.connect = lambda backend_id="local", **kw: connection  # the lab proxy's job
    try:
        exec(compile(code, "<exported>", "exec"), namespace)
    finally:
        jupyter_eo.connect = original
    return namespace


@pytest.mark.parametrize("recipe_id", ["NDVI", "true_colour", "EVI", "ndvi_change", "bands", "expression"])
def test_exported_code_rebuilds_an_equivalent_graph_with_the_real_client(explorer, connection, recipe_id):
    explorer.recipe.value = recipe_id
    explorer.export.ending.value = "none"
    widget = explorer.graph()
    client = run(explorer.export.code(), connection)["cube"].flat_graph()
    uses_index = any(inner["process_id"] == "array_element" and "index" in inner["arguments"]
                     for node in client.values() if node["process_id"] == "reduce_dimension"
                     for inner in node["arguments"]["reducer"]["process_graph"].values())
    if recipe_id in ("NDVI", "EVI", "expression"):
        # the real client, knowing the collection's bands, addresses them by position: not identical ...
        assert uses_index and not graphs_equal(client, widget)
    # ... but equivalent: the same graph once positions are read as the band labels they stand for
    assert graphs_equal(resolve_band_indices(client), widget)


def test_resolving_indices_is_not_vacuous(explorer, connection):
    """Swapping two bands in the client's graph makes it non-equivalent (the check can fail)."""
    explorer.recipe.value = "NDVI"
    explorer.export.ending.value = "none"
    client = run(explorer.export.code(), connection)["cube"].flat_graph()
    load = next(n for n in client.values() if n["process_id"] == "load_collection")
    load["arguments"]["bands"] = list(reversed(load["arguments"]["bands"]))
    assert not graphs_equal(resolve_band_indices(client), explorer.graph())


def test_inserted_cell_ends_by_downloading_and_showing_the_result(explorer, connection, tmp_path, monkeypatch):
    from jupyter_eo.widgets.cube_viewer import CubeViewer
    from jupyter_eo.widgets.preview_run import read_geotiff

    explorer.recipe.value = "NDVI"
    explorer.export.ending.value = "view"
    code = explorer.export.code()
    lines = code.rstrip().splitlines()
    assert lines[-1] == "CubeViewer('ndvi_sentinel2_l2a.tif')"  # the cell's value: shown by Jupyter
    assert "cube.download('ndvi_sentinel2_l2a.tif')" in lines
    monkeypatch.chdir(tmp_path)
    namespace = run("\n".join(lines[:-1]) + "\nviewer = " + lines[-1] + "\n", connection)
    assert isinstance(namespace["viewer"], CubeViewer)
    assert namespace["viewer"].image.url.startswith("data:image/png")
    from_cell = read_geotiff((tmp_path / "ndvi_sentinel2_l2a.tif").read_bytes()).data
    from_widget = read_geotiff(connection.download(explorer.graph())).data
    assert from_cell.dtype == from_widget.dtype and np.isfinite(from_cell).any()
    np.testing.assert_array_equal(from_cell, from_widget)

    explorer.export.ending.value = "download"
    assert explorer.export.code().rstrip().splitlines()[-1] == "print('saved', 'ndvi_sentinel2_l2a.tif')"
    explorer.recipe.value = "ndvi_timeseries"  # JSON results: the cell's value is the data itself
    explorer.export.ending.value = "view"
    assert explorer.export.code().rstrip().splitlines()[-1] == "cube.execute()"
