"""Each recipe yields its expected graph; index formulas are checked numerically."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.graph.validate import validate_graph
from jupyter_eo.specs import process_spec
from jupyter_eo.widgets.recipes import INDICES, RECIPES, RecipeInputs, recipe, recipes_for

from .conftest import s1_metadata, s2_metadata

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1}
INPUTS = RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-09-01"), s2_metadata(),
                      second_period=("2022-06-01", "2022-09-01"))

# Sentinel-2 L2A digital numbers (reflectance * 10000) for one pixel
DN = {"B02": 500.0, "B03": 800.0, "B04": 600.0, "B08": 3500.0, "B11": 2000.0, "B12": 1200.0}
R = {k: v * 1e-4 for k, v in DN.items()}
EXPECTED = {
    "NDVI": (R["B08"] - R["B04"]) / (R["B08"] + R["B04"]),
    "GNDVI": (R["B08"] - R["B03"]) / (R["B08"] + R["B03"]),
    "NDWI": (R["B03"] - R["B08"]) / (R["B03"] + R["B08"]),
    "NDMI": (R["B08"] - R["B11"]) / (R["B08"] + R["B11"]),
    "NBR": (R["B08"] - R["B12"]) / (R["B08"] + R["B12"]),
    "NBR2": (R["B11"] - R["B12"]) / (R["B11"] + R["B12"]),
    "NDBI": (R["B11"] - R["B08"]) / (R["B11"] + R["B08"]),
    "NDSI": (R["B03"] - R["B11"]) / (R["B03"] + R["B11"]),
    "EVI": 2.5 * (R["B08"] - R["B04"]) / (R["B08"] + 6 * R["B04"] - 7.5 * R["B02"] + 1),
    "EVI2": 2.5 * (R["B08"] - R["B04"]) / (R["B08"] + 2.4 * R["B04"] + 1),
    "SAVI": 1.5 * (R["B08"] - R["B04"]) / (R["B08"] + R["B04"] + 0.5),
    "MSAVI": (2 * R["B08"] + 1 - math.sqrt((2 * R["B08"] + 1) ** 2 - 8 * (R["B08"] - R["B04"]))) / 2,
    "ARVI": (R["B08"] - (2 * R["B04"] - R["B02"])) / (R["B08"] + (2 * R["B04"] - R["B02"])),
}

OPS = {"add": lambda a: a["x"] + a["y"], "subtract": lambda a: a["x"] - a["y"],
       "multiply": lambda a: a["x"] * a["y"], "divide": lambda a: a["x"] / a["y"],
       "power": lambda a: a["base"] ** a["p"], "sqrt": lambda a: math.sqrt(a["x"]),
       "eq": lambda a: a["x"] == a["y"], "or": lambda a: a["x"] or a["y"]}


def evaluate_callback(graph: dict, pixel: dict[str, float]) -> float:
    """A tiny independent evaluator for band-math callbacks (array_element by label + math)."""
    values: dict[str, float] = {}

    def resolve(v):
        if isinstance(v, dict) and "from_node" in v:
            return compute(v["from_node"])
        return v

    def compute(node_id):
        if node_id not in values:
            node = graph[node_id]
            args = {k: resolve(v) for k, v in node["arguments"].items()}
            if node["process_id"] == "array_element":
                assert args["data"] == {"from_parameter": "data"}
                values[node_id] = pixel[args["label"]]
            else:
                values[node_id] = OPS[node["process_id"]](args)
        return values[node_id]

    result = next(k for k, n in graph.items() if n.get("result"))
    return compute(result)


def nodes(graph, process_id):
    return [n for n in graph.values() if n["process_id"] == process_id]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_index_recipe_graph_and_formula(name):
    graph = RECIPES[name].graph(INPUTS)
    (load,) = nodes(graph, "load_collection")
    assert load["arguments"]["id"] == "SENTINEL2_L2A"
    assert load["arguments"]["spatial_extent"] == EXTENT
    assert load["arguments"]["temporal_extent"] == ["2023-06-01", "2023-09-01"]
    assert load["arguments"]["bands"][-1] == "SCL"
    (mask,) = nodes(graph, "mask")
    (filter_bands,) = nodes(graph, "filter_bands")
    assert filter_bands["arguments"]["bands"] == load["arguments"]["bands"][:-1]
    reducers = nodes(graph, "reduce_dimension")
    assert [r["arguments"]["dimension"] for r in reducers] == ["bands", "bands", "t"]
    cloud, index, time_reduce = reducers
    # cloud mask: SCL in {1, 3, 8, 9, 10, 11}
    for scl, cloudy in ((4, False), (5, False), (8, True), (9, True), (3, True), (1, True)):
        assert bool(evaluate_callback(cloud["arguments"]["reducer"]["process_graph"], {"SCL": scl})) is cloudy
    assert mask["arguments"]["mask"] == {"from_node": next(k for k, n in graph.items() if n is cloud)}
    value = evaluate_callback(index["arguments"]["reducer"]["process_graph"], DN)
    assert value == pytest.approx(EXPECTED[name], rel=1e-12)
    (median,) = time_reduce["arguments"]["reducer"]["process_graph"].values()
    assert median["process_id"] == "median"
    assert sum(1 for n in graph.values() if n.get("result")) == 1


def test_at_least_ten_indices_and_scale_factor_matters():
    assert len(INDICES) >= 10
    unscaled = {k: v for k, v in DN.items()}
    evi = RECIPES["EVI"].graph(replace(INPUTS, scale=1.0))
    index = nodes(evi, "reduce_dimension")[1]
    wrong = evaluate_callback(index["arguments"]["reducer"]["process_graph"], unscaled)
    assert wrong != pytest.approx(EXPECTED["EVI"], rel=1e-3)  # DN without scaling is wrong
    ndvi = RECIPES["NDVI"].graph(INPUTS)
    assert "multiply" not in str(nodes(ndvi, "reduce_dimension")[1])  # ratios need no scaling


def test_band_names_come_from_common_names():
    meta = s2_metadata()
    for band in meta["summaries"]["eo:bands"]:
        if band.get("common_name") == "nir":
            band["name"] = "NIR"
    meta["cube:dimensions"]["bands"]["values"] = [b["name"] for b in meta["summaries"]["eo:bands"]]
    graph = RECIPES["NDVI"].graph(replace(INPUTS, metadata=meta))
    assert nodes(graph, "load_collection")[0]["arguments"]["bands"] == ["NIR", "B04", "SCL"]


def test_colour_composites():
    graph = RECIPES["true_colour"].graph(INPUTS, save_format="GTiff")
    assert nodes(graph, "load_collection")[0]["arguments"]["bands"] == ["B04", "B03", "B02", "SCL"]
    assert nodes(graph, "filter_bands")[0]["arguments"]["bands"] == ["B04", "B03", "B02"]
    assert nodes(graph, "save_result")[0]["arguments"]["format"] == "GTiff"
    false = RECIPES["false_colour"].graph(replace(INPUTS, cloud_mask=False, reducer="max"))
    assert nodes(false, "load_collection")[0]["arguments"]["bands"] == ["B08", "B04", "B03"]
    assert not nodes(false, "mask")
    reducer = nodes(false, "reduce_dimension")[0]["arguments"]["reducer"]["process_graph"]
    assert [n["process_id"] for n in reducer.values()] == ["max"]


def test_timeseries_aggregates_over_the_aoi():
    aoi = {"type": "Polygon", "coordinates": [[[11, 46], [11.1, 46], [11.05, 46.1], [11, 46]]]}
    graph = RECIPES["ndvi_timeseries"].graph(replace(INPUTS, geometry=aoi))
    (agg,) = nodes(graph, "aggregate_spatial")
    assert agg["arguments"]["geometries"] == aoi
    assert [n["process_id"] for n in agg["arguments"]["reducer"]["process_graph"].values()] == ["mean"]
    assert [r["arguments"]["dimension"] for r in nodes(graph, "reduce_dimension")] == ["bands", "bands"]


def test_change_subtracts_first_period_from_second():
    graph = RECIPES["ndvi_change"].graph(INPUTS)
    loads = nodes(graph, "load_collection")
    assert sorted(l["arguments"]["temporal_extent"] for l in loads) == [["2022-06-01", "2022-09-01"],
                                                                         ["2023-06-01", "2023-09-01"]]
    (merge,) = nodes(graph, "merge_cubes")
    resolver = merge["arguments"]["overlap_resolver"]["process_graph"]
    (sub,) = resolver.values()
    assert sub["process_id"] == "subtract"
    assert sub["arguments"] == {"x": {"from_parameter": "x"}, "y": {"from_parameter": "y"}}

    def source_period(ref):
        node = graph[ref["from_node"]]
        while node["process_id"] != "load_collection":
            node = graph[node["arguments"]["data"]["from_node"]]
        return node["arguments"]["temporal_extent"][0]
    assert source_period(merge["arguments"]["cube1"]) == "2022-06-01"  # after (second period) - before
    with pytest.raises(ProcessParameterInvalid):
        RECIPES["ndvi_change"].graph(replace(INPUTS, second_period=None))


def test_s1_backscatter_in_db():
    inputs = replace(INPUTS, collection_id="SENTINEL1_GRD", metadata=s1_metadata())
    graph = RECIPES["s1_backscatter"].graph(inputs)
    assert nodes(graph, "load_collection")[0]["arguments"]["bands"] == ["VV", "VH"]
    reducer = nodes(graph, "reduce_dimension")[0]
    assert [n["process_id"] for n in reducer["arguments"]["reducer"]["process_graph"].values()] == ["mean"]
    (apply,) = nodes(graph, "apply")
    cb = apply["arguments"]["process"]["process_graph"]
    ids = sorted(n["process_id"] for n in cb.values())
    assert ids == ["log", "multiply"]
    log = next(n for n in cb.values() if n["process_id"] == "log")
    assert log["arguments"]["base"] == 10
    mult = next(n for n in cb.values() if n["process_id"] == "multiply")
    assert 10 in mult["arguments"].values()


@pytest.mark.parametrize("recipe_id", sorted(RECIPES))
def test_every_recipe_graph_validates_against_the_process_specs(recipe_id):
    inputs = INPUTS if recipe_id != "s1_backscatter" else replace(
        INPUTS, collection_id="SENTINEL1_GRD", metadata=s1_metadata())
    graph = RECIPES[recipe_id].graph(inputs, save_format="GTiff")
    problems = validate_graph(graph, lambda pid, ns: process_spec(pid), parameters=[])
    assert problems == [], [p.message for p in problems]


def test_recipes_offered_per_collection_and_unknown_ids():
    s2 = {r.id for r in recipes_for(s2_metadata())}
    s1 = {r.id for r in recipes_for(s1_metadata())}
    assert "NDVI" in s2 and "s1_backscatter" not in s2
    assert s1 == {"s1_backscatter", "bands", "expression"}  # the generic views fit every collection
    with pytest.raises(ProcessParameterInvalid):
        recipe("NDXX")
    with pytest.raises(ProcessParameterInvalid):
        RECIPES["NDVI"].graph(replace(INPUTS, metadata=s1_metadata()))


def test_recipes_chain_as_steps():
    from jupyter_eo.graph.offline import GraphOnlyConnection
    from jupyter_eo.widgets.export import code_for
    from jupyter_eo.widgets.recipes import scale_to_byte, smooth, threshold

    chained = RECIPES["NDVI"].then(smooth(3), "smooth").then(threshold(0.4), "vegetation", range=(0, 1))
    assert chained.id == "NDVI+smooth+vegetation" and chained.range == (0, 1)
    graph = chained.graph(INPUTS, save_format="GTiff")
    order = [n["process_id"] for n in graph.values()]
    assert order.index("apply_kernel") > order.index("reduce_dimension")
    (kernel,) = nodes(graph, "apply_kernel")
    assert kernel["arguments"]["kernel"] == [[1, 1, 1]] * 3 and kernel["arguments"]["factor"] == pytest.approx(1 / 9)
    (apply,) = nodes(graph, "apply")
    (gt,) = apply["arguments"]["process"]["process_graph"].values()
    assert gt["process_id"] == "gt" and gt["arguments"]["y"] == 0.4
    assert nodes(graph, "apply_kernel")[0]["arguments"]["data"]["from_node"] in graph
    problems = validate_graph(graph, lambda pid, ns: process_spec(pid), parameters=[])
    assert problems == [], [p.message for p in problems]
    byte = RECIPES["true_colour"].then(scale_to_byte(0, 3000), "8bit").graph(INPUTS)
    (scale,) = nodes(byte, "apply")
    (lsr,) = scale["arguments"]["process"]["process_graph"].values()
    assert lsr["process_id"] == "linear_scale_range" and lsr["arguments"]["outputMax"] == 255
    # the exported code rebuilds the chained graph
    import jupyter_eo
    original, namespace = jupyter_eo.connect, {}
    jupyter_eo.connect = lambda *a, **k: GraphOnlyConnection()
    try:
        exec(compile(code_for(graph), "<chained>", "exec"), namespace)
    finally:
        jupyter_eo.connect = original
    from jupyter_eo.graph.model import graphs_equal
    assert graphs_equal(namespace["cube"].flat_graph(), graph)
    with pytest.raises(ProcessParameterInvalid):
        smooth(4)
