"""JSON writer for non-raster results (numbers, arrays, time series, small cubes).

Numbers that JSON cannot spell are written as the tokens ``NaN``, ``Infinity`` and
``-Infinity`` (what Python's ``json`` module, and so the official ``openeo`` client and
``requests``, read back as ``float('nan')``/``float('inf')``); ``null`` stays the openEO
no-data value. In a data cube's values NaN *is* the no-data value, so it is written as
``null`` there, while ±infinity in a cube is written as ``Infinity``/``-Infinity``.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.formats.common import WrittenFile, time_labels

MEDIA_TYPE = "application/json"
PARAMETERS: dict[str, Any] = {}
MAX_JSON_VALUES = 10_000_000


def to_jsonable(value: Any, special: bool = False) -> Any:
    """Plain JSON values; DataArrays become {dims, coords, data} with NaN (no-data) as null.

    ``special``: Python floats NaN/±inf stay floats (``json.dumps`` writes ``NaN``,
    ``Infinity``, ``-Infinity``); otherwise they become null (strict JSON, e.g. GeoJSON).
    """
    if isinstance(value, xr.DataArray):
        if value.size > MAX_JSON_VALUES:
            from jupyter_eo.backend.formats.common import format_error

            raise format_error(f"Result with {value.size} values is too large for JSON.")
        coords = {}
        for dim in value.dims:
            if dim in value.coords:
                vals = value[dim].values
                coords[str(dim)] = (time_labels(vals) if np.issubdtype(vals.dtype, np.datetime64)
                                    else to_jsonable(vals, special))
        data = np.asarray(value.values)
        if data.dtype.kind in "fc":  # NaN is the cube's no-data value: null
            data = np.where(np.isnan(data), None, data.astype(object))
        return {"dims": [str(d) for d in value.dims], "coords": coords,
                "data": to_jsonable(data, special)}
    if hasattr(value, "to_records") and hasattr(value, "geometries"):  # engine VectorCube
        return to_jsonable(value.to_records(), special)
    if isinstance(value, xr.Dataset):
        return {str(k): to_jsonable(v, special) for k, v in value.data_vars.items()}
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.datetime64):
            return time_labels(value) if value.ndim else time_labels([value])[0]
        return to_jsonable(value.tolist(), special)
    if isinstance(value, (np.generic,)):
        return to_jsonable(value.item(), special)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return value if special else None
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, special) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, special) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "__geo_interface__"):
        return value.__geo_interface__
    if hasattr(value, "to_json"):
        return json.loads(value.to_json())
    return str(value)


def dumps(value: Any) -> str:
    """A result as JSON text with ``NaN``/``Infinity``/``-Infinity`` tokens (see module doc)."""
    return json.dumps(to_jsonable(value, special=True), allow_nan=True)


def write(value: Any, path: Path, options: dict[str, Any]) -> WrittenFile:
    path.write_text(dumps(value), "utf-8")
    return WrittenFile(path, MEDIA_TYPE, {})
