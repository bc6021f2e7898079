"""Small process-graph builders for engine tests."""
from __future__ import annotations

from typing import Any


def load(bands: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"process_id": "load_collection",
            "arguments": {"id": "S2", "spatial_extent": None, "temporal_extent": None,
                          **({"bands": bands} if bands is not None else {}), **extra}}


def ref(node: str) -> dict[str, str]:
    return {"from_node": node}


def param(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def reducer(pid: str, **args: Any) -> dict[str, Any]:
    return {"process_graph": {"r": {"process_id": pid, "arguments": {"data": param("data"),
                                                                   **args}, "result": True}}}


NDVI_CALLBACK = {"process_graph": {
    "nir": {"process_id": "array_element", "arguments": {"data": param("data"), "label": "B08"}},
    "red": {"process_id": "array_element", "arguments": {"data": param("data"), "label": "B04"}},
    "diff": {"process_id": "subtract", "arguments": {"x": ref("nir"), "y": ref("red")}},
    "sum": {"process_id": "add", "arguments": {"x": ref("nir"), "y": ref("red")}},
    "nd": {"process_id": "divide", "arguments": {"x": ref("diff"), "y": ref("sum")},
           "result": True}}}


def ndvi_max_graph(save: bool = True, reducer_id: str = "max") -> dict[str, Any]:
    g = {"load": load(["B04", "B08"]),
         "ndvi": {"process_id": "reduce_dimension",
                  "arguments": {"data": ref("load"), "dimension": "bands",
                                "reducer": NDVI_CALLBACK}},
         "tmax": {"process_id": "reduce_dimension",
                  "arguments": {"data": ref("ndvi"), "dimension": "t",
                                "reducer": reducer(reducer_id)}}}
    if save:
        g["save"] = {"process_id": "save_result",
                     "arguments": {"data": ref("tmax"), "format": "GTiff"}, "result": True}
    else:
        g["tmax"]["result"] = True
    return g
