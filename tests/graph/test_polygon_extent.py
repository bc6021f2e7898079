"""load_collection with a GeoJSON spatial_extent: generated code uses ``connection.load_collection``
and, run with the real openeo client, rebuilds the very same graph (golden files for polygon
recipes live in golden_polygon/; regenerate with ``python -m tests.graph.test_polygon_extent``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from jupyter_eo.graph.builder import GraphBuilder, Param
from jupyter_eo.graph.codegen import to_python
from jupyter_eo.graph.model import canonical
from jupyter_eo.graph.parse import from_python

from .fake_connection import run_code

GOLDEN = Path(__file__).parent / "golden_polygon"
SUMMER = ["2023-06-01", "2023-09-01"]
FIELD = {"type": "Polygon", "coordinates": [[[5.061, 51.214], [5.092, 51.211], [5.118, 51.226],
                                             [5.101, 51.248], [5.066, 51.241], [5.061, 51.214]]]}
DATELINE = {"type": "Polygon", "coordinates": [[[179.6, -17.2], [180.4, -17.1], [180.1, -16.6], [179.6, -17.2]]]}
HOLE = {"type": "Polygon", "coordinates": [[[5.0, 51.0], [5.2, 51.0], [5.2, 51.2], [5.0, 51.2], [5.0, 51.0]],
                                           [[5.05, 51.05], [5.1, 51.05], [5.1, 51.1], [5.05, 51.05]]]}
TWO_FIELDS = {"type": "MultiPolygon", "coordinates": [
    [[[5.07, 51.22], [5.09, 51.22], [5.09, 51.24], [5.07, 51.22]]],
    [[[5.11, 51.23], [5.13, 51.23], [5.13, 51.25], [5.11, 51.23]]]]}
FEATURE = {"type": "Feature", "properties": {"name": "field-a"}, "geometry": FIELD}
COLLECTION = {"type": "FeatureCollection", "features": [
    FEATURE, {"type": "Feature", "properties": {"name": "field-b"}, "geometry": TWO_FIELDS}]}


def _widget_ndvi(geometry: dict[str, Any]) -> dict[str, Any]:
    from jupyter_eo.widgets.geometry import geometry_bbox, normalize_geometry, spatial_extent
    from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

    aoi = normalize_geometry(geometry)
    inputs = RecipeInputs("SENTINEL2_L2A", spatial_extent(geometry_bbox(aoi)), tuple(SUMMER), {}, geometry=aoi)
    return RECIPES["NDVI"].graph(inputs, save_format="GTiff")


#: name -> (graph factory, to_python options)
CASES: dict[str, tuple[Callable[[], dict[str, Any]], dict[str, Any]]] = {
    "ndvi_polygon_field": (lambda: _widget_ndvi(FIELD), {}),
    "ndvi_polygon_dateline": (lambda: _widget_ndvi(DATELINE),
                              {"flavour": "portable", "url": "https://openeo.dataspace.copernicus.eu"}),
}


def load(name: str) -> tuple[dict, dict]:
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    return data["graph"], data["options"]


def lab_code(code: str) -> str:
    """Portable code made runnable by the fake connection (as the main golden test does)."""
    code = code.replace("import openeo\n", "", 1)
    code = code.replace('connection = openeo.connect("https://openeo.dataspace.copernicus.eu")'
                        '.authenticate_oidc()', 'connection = jupyter_eo.connect("local")')
    return "import jupyter_eo\n" + code


def test_golden_files_match_the_cases() -> None:
    assert {p.stem for p in GOLDEN.glob("*.py")} == set(CASES) == {p.stem for p in GOLDEN.glob("*.json")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_widget_recipe_still_builds_the_golden_graph(name: str) -> None:
    graph, options = load(name)
    build, expected_options = CASES[name]
    assert canonical(build()) == canonical(graph) and options == expected_options
    (node,) = [n for n in graph.values() if n["process_id"] == "load_collection"]
    assert node["arguments"]["spatial_extent"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_code(name: str) -> None:
    graph, options = load(name)
    code = (GOLDEN / f"{name}.py").read_text()
    assert to_python(graph, **options) == code
    assert "connection.load_collection(" in code and "datacube_from_process" not in code
    assert all(len(line) <= 100 for line in code.splitlines())
    cube, _ = run_code(lab_code(code) if options.get("flavour") == "portable" else code)
    assert canonical(cube.flat_graph()) == canonical(graph)
    # and the code cell loads back into the same graph (the widgets' "load from code")
    assert canonical(from_python(code)["process_graph"]) == canonical(graph)


@pytest.mark.parametrize("extent", [FIELD, HOLE, TWO_FIELDS, FEATURE, COLLECTION],
                         ids=["polygon", "hole", "multipolygon", "feature", "featurecollection"])
def test_geojson_extents_render_as_load_collection_and_round_trip(extent: dict) -> None:
    cube = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=extent, temporal_extent=SUMMER,
                                          bands=["B04", "B08"], max_cloud_cover=30)
    graph = cube.ndvi(nir="B08", red="B04").reduce_time("max").save_result("GTiff").to_dict()
    code = to_python(graph)
    assert "connection.load_collection(" in code and "max_cloud_cover=30" in code
    built, _ = run_code(code)
    assert canonical(built.flat_graph()) == canonical(graph)
    (node,) = [n for n in built.flat_graph().values() if n["process_id"] == "load_collection"]
    assert node["arguments"]["spatial_extent"] == extent


@pytest.mark.parametrize("extent", [
    {"type": "Point", "coordinates": [5.1, 51.2]},  # the client's load_collection rejects points
    {"type": "Polygon", "coordinates": {"from_parameter": "ring"}},  # not literal GeoJSON
], ids=["point", "parameter-inside"])
def test_other_extents_still_round_trip_through_the_generic_call(extent: dict) -> None:
    graph = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=extent,
                                           temporal_extent=SUMMER).to_dict()
    code = to_python(graph)
    assert 'datacube_from_process(\n    "load_collection"' in code
    built, _ = run_code(code)
    assert canonical(built.flat_graph()) == canonical(graph)


def test_parameterised_extent_still_renders_the_parameter() -> None:
    graph = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=Param("spatial_extent"),
                                           temporal_extent=SUMMER).to_dict()
    code = to_python(graph)
    assert "connection.load_collection(" in code and "spatial_extent=" in code


def regenerate() -> None:
    """Rewrite the golden inputs (.json) and expected code (.py) of the polygon cases."""
    GOLDEN.mkdir(exist_ok=True)
    for name, (build, options) in CASES.items():
        graph = build()
        (GOLDEN / f"{name}.json").write_text(json.dumps({"options": options, "graph": graph}, indent=2) + "\n")
        (GOLDEN / f"{name}.py").write_text(to_python(graph, **options))


if __name__ == "__main__":
    regenerate()


def test_long_rings_are_packed_several_positions_to_a_line() -> None:
    import math

    ring = [[round(5.1 + 0.04 * math.cos(a * math.pi / 20), 6), round(51.24 + 0.03 * math.sin(a * math.pi / 20), 6)]
            for a in range(40)]
    extent = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}}
    graph = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=extent, temporal_extent=SUMMER).to_dict()
    code = to_python(graph)
    lines = code.splitlines()
    assert len(lines) < 41 and max(len(line) for line in lines) <= 100  # one per line: > 41
    assert sum(line.count("], [") for line in lines) >= 25  # 41 positions on few lines
    built, _ = run_code(code)
    assert canonical(built.flat_graph()) == canonical(graph)
