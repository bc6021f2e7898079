"""JSON writer for non-raster results (numbers, arrays, time series, small cubes)."""
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


def to_jsonable(value: Any) -> Any:
    """Plain JSON values; NaN becomes null; DataArrays become {dims, coords, data}."""
    if isinstance(value, xr.DataArray):
        if value.size > MAX_JSON_VALUES:
            from jupyter_eo.backend.formats.common import format_error

            raise format_error(f"Result with {value.size} values is too large for JSON.")
        coords = {}
        for dim in value.dims:
            if dim in value.coords:
                vals = value[dim].values
                coords[str(dim)] = (time_labels(vals) if np.issubdtype(vals.dtype, np.datetime64)
                                    else to_jsonable(vals))
        return {"dims": [str(d) for d in value.dims], "coords": coords,
                "data": to_jsonable(np.asarray(value.values))}
    if hasattr(value, "to_records") and hasattr(value, "geometries"):  # engine VectorCube
        return to_jsonable(value.to_records())
    if isinstance(value, xr.Dataset):
        return {str(k): to_jsonable(v) for k, v in value.data_vars.items()}
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.datetime64):
            return time_labels(value) if value.ndim else time_labels([value])[0]
        return to_jsonable(value.tolist())
    if isinstance(value, (np.generic,)):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "__geo_interface__"):
        return value.__geo_interface__
    if hasattr(value, "to_json"):
        return json.loads(value.to_json())
    return str(value)


def write(value: Any, path: Path, options: dict[str, Any]) -> WrittenFile:
    path.write_text(json.dumps(to_jsonable(value), allow_nan=False), "utf-8")
    return WrittenFile(path, MEDIA_TYPE, {})
