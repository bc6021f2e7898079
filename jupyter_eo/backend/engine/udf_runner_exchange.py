"""Thread-safe cube exchange between run_udf and its child: ``.npy`` arrays plus a JSON sidecar.

netCDF/HDF5 is not thread-safe: reading or writing the UDF's cube as netCDF while another
thread of the backend writes a netCDF result could crash the whole process. ``<stem>.npy``
holds the values, ``<stem>.json`` the name, dims, attributes, coordinates (numeric ones as
their own ``.npy`` files, datetimes as ISO strings, strings as JSON) and the CRS (WKT).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

FORMAT = "jupyter_eo.udf-cube/1"
CRS_COORD = "spatial_ref"


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON (numbers, strings, booleans, lists), or None if it has none."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item() if isinstance(value.item(), (int, float, str, bool)) else None
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_json_value(v) for v in (value.tolist() if isinstance(value, np.ndarray)
                                          else value)]
        return items if all(i is not None for i in items) else None
    return None


def _json_attrs(attrs: dict[Any, Any]) -> dict[str, Any]:
    out = {}
    for key, value in attrs.items():
        converted = _json_value(value)
        if converted is not None:
            out[str(key)] = converted
    return out


def _crs_wkt(array: xr.DataArray) -> str | None:
    """The CRS of a rioxarray-style ``spatial_ref`` coordinate, as WKT (None without one)."""
    if CRS_COORD not in array.coords:
        return None
    attrs = array.coords[CRS_COORD].attrs
    wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
    return str(wkt) if wkt else None


def _save_coord(folder: Path, stem: str, index: int, coord: xr.DataArray) -> dict[str, Any]:
    values = np.asarray(coord.values)
    entry: dict[str, Any] = {"dims": [str(d) for d in coord.dims],
                             "attrs": _json_attrs(coord.attrs)}
    if np.issubdtype(values.dtype, np.datetime64):
        entry.update(kind="datetime", dtype=str(values.dtype),
                     values=np.datetime_as_string(values).tolist())
    elif values.dtype.kind in "biufcmM":
        name = f"{stem}.coord{index}.npy"
        np.save(folder / name, values, allow_pickle=False)
        entry.update(kind="npy", file=name)
    else:  # strings and objects (band names, labels)
        entry.update(kind="str", dtype="U" if values.dtype.kind == "U" else "O",
                     values=np.vectorize(str, otypes=[object])(values).tolist()
                     if values.ndim else str(values.item()))
    return entry


def save_cube(array: xr.DataArray, folder: Path, stem: str) -> None:
    """Write ``array`` as ``folder/<stem>.npy`` plus the sidecar ``folder/<stem>.json``."""
    values = np.asarray(array.values)
    if values.dtype.kind not in "biufcmM":
        raise TypeError(f"cannot exchange a cube of dtype {values.dtype} (numbers only)")
    np.save(folder / f"{stem}.npy", values, allow_pickle=False)
    coords = {}
    for index, name in enumerate(array.coords):
        if name == CRS_COORD:
            continue
        coords[str(name)] = _save_coord(folder, stem, index, array.coords[name])
    sidecar = {"format": FORMAT, "name": None if array.name is None else str(array.name),
               "dims": [str(d) for d in array.dims], "attrs": _json_attrs(array.attrs),
               "coords": coords, "crs": _crs_wkt(array)}
    (folder / f"{stem}.json").write_text(json.dumps(sidecar), "utf-8")


def _load_coord(folder: Path, entry: dict[str, Any]) -> Any:
    kind = entry["kind"]
    if kind == "datetime":
        values: Any = np.array(entry["values"], dtype=entry["dtype"])
    elif kind == "npy":
        values = np.load(folder / Path(entry["file"]).name, allow_pickle=False)
    else:
        values = entry["values"]
        if isinstance(values, list):
            values = np.array(values, dtype=object if entry.get("dtype") == "O" else str)
    return (tuple(entry["dims"]), values, entry.get("attrs") or {})


def load_cube(folder: Path, stem: str) -> tuple[xr.DataArray, str | None]:
    """The cube written by :func:`save_cube` and its CRS as WKT (None without one).

    The CRS is returned, not attached: the child has no rioxarray, the caller sets it."""
    sidecar = json.loads((folder / f"{stem}.json").read_text("utf-8"))
    if sidecar.get("format") != FORMAT:
        raise ValueError(f"{stem}.json is not a {FORMAT} sidecar")
    values = np.load(folder / f"{stem}.npy", allow_pickle=False)
    coords = {name: _load_coord(folder, entry) for name, entry in sidecar["coords"].items()}
    array = xr.DataArray(values, dims=tuple(sidecar["dims"]), coords=coords,
                         name=sidecar.get("name"), attrs=sidecar.get("attrs") or {})
    return array, sidecar.get("crs")

