"""RecipePicker options per collection; code export (copy fallback outside JupyterLab); UDP docs."""
from __future__ import annotations

import pytest

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.graph.model import graphs_equal
from jupyter_eo.graph.offline import GraphOnlyConnection
from jupyter_eo.widgets.export import CodeExport, code_for, udp_document
from jupyter_eo.widgets.pickers import CollectionPicker
from jupyter_eo.widgets.recipe_picker import RecipePicker
from jupyter_eo.widgets.recipes import RECIPES, RecipeInputs

from .conftest import s1_metadata, s2_metadata

EXTENT = {"west": 11.0, "south": 46.0, "east": 11.1, "north": 46.1}


def test_recipe_picker_follows_the_collection(collections):
    collection = CollectionPicker(collections)
    picker = RecipePicker()
    picker.bind(collection)
    assert picker.value == "NDVI" and picker.cloud_mask and picker.mask_box.layout.display == ""
    picker.value = "ndvi_change"
    assert picker.period2.layout.display == "" and picker.second_period == picker.period2.value
    picker.period2.value = ("2023-07-01", "2023-08-01")
    assert picker.second_period == ("2023-07-01", "2023-08-01")
    picker.reducer_dropdown.value = "max"
    assert picker.reducer == "max" and "max" in picker.info.value
    collection.value = "SENTINEL1_GRD"
    assert [v for _, v in picker.dropdown.options] == ["s1_backscatter", "bands", "expression"]
    assert picker.value == "s1_backscatter" and picker.second_period is None
    # no SCL band: the cloud mask option is hidden and off (not shown checked but disabled)
    assert picker.mask_box.layout.display == "none" and not picker.cloud_mask
    assert "NDVI" in picker.unavailable.value and "radar" in picker.unavailable.value
    collection.value = "SENTINEL2_L2A"
    assert picker.mask_box.layout.display == "" and picker.cloud_mask and picker.mask_box.value


def test_code_export_falls_back_to_a_copy_box_outside_jupyterlab():
    graph = RECIPES["NDVI"].graph(RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-07-01"),
                                               s2_metadata()), save_format="GTiff")
    export = CodeExport(lambda: graph)
    assert export.insert_code() == "fallback"
    assert "connection.load_collection(" in export.last_code
    fallback = [c for c in export.children if "jp-eo-code-fallback" in getattr(c, "_dom_classes", ())]
    assert fallback and fallback[0]._jupyter_eo_code == export.last_code
    export.flavour.value = "portable"
    assert "openeo.connect(" in export.code()
    export.show.value = True
    assert export.code_view.value.startswith("import openeo")
    empty = CodeExport(lambda: None)
    assert empty.insert_code() is None and "jeo-error" in empty.status.value


def test_portable_code_rebuilds_the_graph():
    graph = RECIPES["EVI"].graph(RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-07-01"),
                                              s2_metadata()), save_format="GTiff")
    code = code_for(graph, flavour="portable", url="https://openeo.example")
    import openeo

    original = openeo.connect
    openeo.connect = lambda *a, **k: GraphOnlyConnection()
    namespace: dict = {}
    try:
        exec(compile(code, "<portable>", "exec"), namespace)
    finally:
        openeo.connect = original
    assert graphs_equal(namespace["cube"].flat_graph(), graph)


def test_udp_document_parameterises_extents():
    inputs = RecipeInputs("SENTINEL2_L2A", EXTENT, ("2023-06-01", "2023-07-01"), s2_metadata(),
                          second_period=("2022-06-01", "2022-07-01"))
    doc = udp_document(RECIPES["NDVI"].graph(inputs, save_format="GTiff"), "ndvi_udp", summary="NDVI")
    assert [p["name"] for p in doc["parameters"]] == ["spatial_extent", "temporal_extent"]
    assert doc["parameters"][0]["default"] == EXTENT
    assert not any(n["process_id"] == "save_result" for n in doc["process_graph"].values())
    assert sum(1 for n in doc["process_graph"].values() if n.get("result")) == 1
    change = udp_document(RECIPES["ndvi_change"].graph(inputs), "change_udp")
    assert [p["name"] for p in change["parameters"]] == ["spatial_extent"]  # two periods stay fixed
    with pytest.raises(ProcessParameterInvalid):
        udp_document(RECIPES["NDVI"].graph(inputs), "bad id")
    s1 = RECIPES["s1_backscatter"].graph(RecipeInputs("SENTINEL1_GRD", EXTENT, ("2022-01-01", "2022-02-01"),
                                                      s1_metadata()))
    assert udp_document(s1, "s1")["process_graph"]


def test_change_second_period_follows_the_first_until_the_user_picks_it(collections):
    collection = CollectionPicker([{**collections[0], "extent": {"temporal": {"interval": [
        ["2017-01-01T00:00:00Z", "2025-12-31T00:00:00Z"]]}}}])
    picker = RecipePicker(value="ndvi_change")
    picker.bind(collection)
    picker.follow_first_period(("2023-06-01", "2023-09-01"))  # a summer: the next summer, not itself
    assert picker.second_period == ("2024-06-01", "2024-09-01")
    picker.follow_first_period(("2025-06-01", "2025-09-01"))  # a year later is past the collection
    assert picker.second_period == ("2025-10-01", "2026-01-01")  # the latest 92 days it has
    picker.period2.start.value = "2022-07-01"  # typed by the user: kept from now on
    picker.follow_first_period(("2020-06-01", "2020-09-01"))
    assert picker.second_period == ("2022-07-01", "2026-01-01")
