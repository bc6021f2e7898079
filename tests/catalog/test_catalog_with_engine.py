"""The real catalog through the real engine: load_collection with a cloud filter, ndvi, median."""
from __future__ import annotations

import numpy as np

import jupyter_eo.backend.engine as engine


def test_ndvi_median_of_simulated_summer_forest(catalog):
    graph = {
        "load": {"process_id": "load_collection", "arguments": {
            "id": "SENTINEL2_L2A",
            "spatial_extent": {"west": 8.2, "south": 48.4, "east": 8.22, "north": 48.415},
            "temporal_extent": ["2021-06-01", "2021-09-01"], "bands": ["B04", "B08"],
            "properties": {"eo:cloud_cover": {"process_graph": {"lt": {
                "process_id": "lt", "arguments": {"x": {"from_parameter": "value"}, "y": 5}, "result": True}}}}}},
        "ndvi": {"process_id": "ndvi", "arguments": {"data": {"from_node": "load"}}},
        "median": {"process_id": "reduce_dimension", "arguments": {
            "data": {"from_node": "ndvi"}, "dimension": "t",
            "reducer": {"process_graph": {"m": {"process_id": "median", "arguments": {
                "data": {"from_parameter": "data"}}, "result": True}}}}, "result": True},
    }
    value = engine.materialize(engine.evaluate(graph, engine.EvalContext(catalog=catalog)))
    values = np.asarray(value)
    assert values.ndim == 2 and values.size > 10_000
    assert np.nanmedian(values) > 0.7
