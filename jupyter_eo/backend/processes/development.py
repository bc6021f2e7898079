"""inspect: log data summaries (never whole cubes) and pass the data through unchanged.

Records go to the ``jupyter_eo.backend.processes.inspect`` logger; a batch job's runner copies
records of its thread into that job's log (``GET /jobs/{id}/logs``). The openEO ``code`` and the
summary are also attached to the record as ``openeo_code`` / ``openeo_data``.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.registry import ARRAY_DIM, PLAN_AWARE, process
from jupyter_eo.errors import ProcessParameterInvalid

log = logging.getLogger("jupyter_eo.backend.processes.inspect")
LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG}
MAX_TEXT = 2000
MAX_LABELS = 5


def _label(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return value.item() if isinstance(value, np.generic) else value


def _dimension_summary(cube: xr.DataArray, dim: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"size": int(cube.sizes[dim])}
    if dim in cube.coords and dim != ARRAY_DIM:
        labels = [_label(v) for v in cube[dim].values[:MAX_LABELS + 1]]
        entry["labels"] = labels[:MAX_LABELS] + (["..."] if len(labels) > MAX_LABELS else [])
    return entry


def _labels_entry(labels: list[Any]) -> dict[str, Any]:
    shown = [_label(v) for v in labels[:MAX_LABELS]]
    return {"size": len(labels), "labels": shown + (["..."] if len(labels) > MAX_LABELS else [])}


def _plan_summary(plan: BlockPlan) -> dict[str, Any]:
    """Describe a fused plan from its source and steps, without building its dask graph."""
    src = plan.source
    dims: dict[str, Any] = {}
    if plan.t_out is not None:
        times = (list(src.coords[T].values[list(plan.t_index)]) if plan.groups is None
                 else list(plan.group_labels))
        dims[T] = _labels_entry(times)
    if plan.bands is not None:
        dims[BANDS] = _labels_entry(list(plan.bands))
    for dim in (Y, X):
        dims[dim] = _dimension_summary(src, dim)
    return {"type": "datacube", "dtype": str(np.dtype(plan.out_dtype)), "lazy": True,
            "dimensions": dims}


def summary(data: Any) -> Any:
    """A small JSON-able description of ``data``; cubes are described, never computed."""
    if isinstance(data, BlockPlan):
        return _plan_summary(data)
    if isinstance(data, xr.DataArray):
        kind = "array (per pixel)" if ARRAY_DIM in data.dims else "datacube"
        return {"type": kind, "dtype": str(data.dtype), "lazy": data.chunks is not None,
                "dimensions": {("array" if d == ARRAY_DIM else d): _dimension_summary(data, d)
                               for d in data.dims}}
    if hasattr(data, "geometries") and hasattr(data, "values"):
        return {"type": "vectorcube", "geometries": len(data.geometries),
                "dimensions": dict(data.values.sizes)}
    if isinstance(data, np.ndarray):
        return {"type": "array", "shape": list(data.shape), "dtype": str(data.dtype)}
    try:
        text = json.dumps(data, default=str)
    except (TypeError, ValueError):
        return {"type": type(data).__name__}
    return data if len(text) <= MAX_TEXT else {"type": type(data).__name__,
                                               "preview": text[:MAX_TEXT] + "..."}


@process("inspect")
def inspect_data(data: Any, message: str = "", code: str = "User", level: str = "info") -> Any:
    """Log ``message`` with a summary of ``data`` at ``level``; return ``data`` unchanged."""
    if level not in LEVELS:
        raise ProcessParameterInvalid(
            f"inspect: level must be one of {sorted(LEVELS)}, not {level!r}.")
    described = summary(data)
    text = json.dumps(described, default=str)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "..."
    log.log(LEVELS[level], "[%s] %s%s%s", code, message, ": " if message else "", text,
            extra={"openeo_code": code, "openeo_data": described})
    return data


PLAN_AWARE.add("inspect")
