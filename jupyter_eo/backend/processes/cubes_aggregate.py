"""Aggregations: aggregate_temporal, aggregate_temporal_period, aggregate_spatial."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import T, X, Y, get_crs
from jupyter_eo.backend.engine.kernels import Unsupported, reducer_of
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.engine.vector import GEOMETRY, VectorCube
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim, to_datetime
from jupyter_eo.backend.processes.cubes_reduce import reduce_over
from jupyter_eo.backend.processes.registry import ARRAY_DIM, PLAN_AWARE, process
from jupyter_eo.backend.processes.values import float_dtype_for
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


def _temporal_dim(cube: xr.DataArray, dimension: str | None) -> str:
    if dimension is None:
        temporal = [d for d in cube.dims if np.issubdtype(cube[d].dtype, np.datetime64)] \
            if all(d in cube.coords for d in cube.dims) else [T]
        temporal = temporal or ([T] if T in cube.dims else [])
        if len(temporal) > 1:
            raise ProcessArgumentInvalid("TooManyDimensions", "More than one temporal dimension.")
        if not temporal:
            raise ProcessArgumentInvalid("DimensionNotAvailable", "No temporal dimension.")
        return temporal[0]
    require_dim(cube, dimension)
    return dimension


def _group_reduce(cube: xr.DataArray, dim: str, groups: list[np.ndarray], labels: list[Any],
                  reducer: Callback, context: Any) -> xr.DataArray:
    parts = []
    for index in groups:
        part = cube.isel({dim: index})
        if len(index) == 0:  # empty interval: reduce an all-null single step
            part = xr.full_like(cube.isel({dim: [0]}), np.nan,
                                dtype=float_dtype_for(cube.dtype))
        parts.append(reduce_over(part, dim, reducer, context))
    if not parts:
        raise ProcessParameterInvalid("No intervals to aggregate.")
    out = xr.concat(parts, dim=pd.Index(labels, name=dim))
    order = [d for d in cube.dims]
    out = out.transpose(*order)
    out.attrs = cube.attrs
    return out


@process("aggregate_temporal")
def aggregate_temporal(data: Any, intervals: list, reducer: Callback, labels: list | None = None,
                       dimension: str | None = None, context: Any = None) -> Any:
    """Reduce the time steps of each left-closed interval to one value."""
    return _aggregate_time(data, dimension, reducer, context,
                           lambda times: _intervals(times, intervals, labels))


Grouping = Callable[[pd.DatetimeIndex], tuple[list[np.ndarray], list[Any]]]


def _aggregate_time(data: Any, dimension: str | None, reducer: Callback, context: Any,
                    grouping: Grouping) -> Any:
    """Group the time steps with ``grouping``, reduce each group (fused on a plan if possible)."""
    if isinstance(data, BlockPlan) and data.reduce is None and dimension in (None, T):
        times = pd.DatetimeIndex(data.source[T].values[list(data.t_index)])
        groups, labels = grouping(times)
        fused = _fused_groups(data, reducer, groups, labels)
        if fused is not None:
            return fused
    cube = as_cube(data)
    dim = _temporal_dim(cube, dimension)
    groups, labels = grouping(pd.DatetimeIndex(cube[dim].values))
    return _group_reduce(cube, dim, groups, list(labels), reducer, context)


def _fused_groups(data: BlockPlan, reducer: Callback, groups: list[np.ndarray],
                  labels: list[Any]) -> BlockPlan | None:
    try:
        name, ignore = reducer_of(reducer.graph)
        return data.with_groups(name, ignore, [list(map(int, g)) for g in groups],
                                list(labels))
    except Unsupported:
        return None


def _intervals(times: pd.DatetimeIndex, intervals: list, labels: list | None
               ) -> tuple[list[np.ndarray], list[Any]]:
    groups = []
    for interval in intervals:
        if not isinstance(interval, (list, tuple)) or len(interval) != 2:
            raise ProcessParameterInvalid("Each interval needs exactly two elements.")
        start, end = to_datetime(interval[0]), to_datetime(interval[1])
        groups.append(np.nonzero((times >= start) & (times < end))[0])
    if labels is None or len(labels) == 0:
        labels = [str(interval[0]) for interval in intervals]
    if len(labels) != len(intervals):
        raise ProcessArgumentInvalid("DistinctDimensionLabelsRequired",
                                     "labels must have one entry per interval.")
    if len(set(map(str, labels))) != len(labels):
        raise ProcessArgumentInvalid("DistinctDimensionLabelsRequired",
                                     "The dimension labels have duplicate values.")
    return groups, list(labels)


def period_label(ts: pd.Timestamp, period: str) -> str:
    """The openEO label of the period containing ``ts``."""
    y = ts.year
    if period == "hour":
        return ts.strftime("%Y-%m-%d-%H")
    if period == "day":
        return f"{y:04d}-{ts.dayofyear:03d}"
    if period == "week":
        iso_year, iso_week, _ = ts.isocalendar()  # ISO 8601: weeks start on Monday, week 1
        return f"{iso_year:04d}-{iso_week:02d}"     # holds the year's first Thursday
    if period == "dekad":
        return f"{y:04d}-{(ts.month - 1) * 3 + min(2, (ts.day - 1) // 10) + 1:02d}"
    if period == "month":
        return f"{y:04d}-{ts.month:02d}"
    if period == "season":
        names = {12: "djf", 1: "djf", 2: "djf", 3: "mam", 4: "mam", 5: "mam", 6: "jja", 7: "jja",
                 8: "jja", 9: "son", 10: "son", 11: "son"}
        return f"{y + (1 if ts.month == 12 else 0):04d}-{names[ts.month]}"
    if period == "tropical-season":
        if ts.month in (11, 12):
            return f"{y + 1:04d}-ndjfma"
        return f"{y:04d}-{'ndjfma' if ts.month <= 4 else 'mjjaso'}"
    if period == "year":
        return f"{y:04d}"
    if period == "decade":
        return f"{y - y % 10:04d}"
    if period == "decade-ad":
        return f"{y - (y - 1) % 10:04d}"
    raise ProcessParameterInvalid(f"Unknown period {period!r}.")


@process("aggregate_temporal_period")
def aggregate_temporal_period(data: Any, period: str, reducer: Callback,
                              dimension: str | None = None, context: Any = None) -> Any:
    """Reduce calendar periods (day, week, dekad, month, season, year, ...)."""
    return _aggregate_time(data, dimension, reducer, context,
                           lambda times: _periods(times, period))


def _periods(times: pd.DatetimeIndex, period: str) -> tuple[list[np.ndarray], list[str]]:
    """Every period label from the first to the last step, and the steps in each."""
    if len(times) == 0:
        raise ProcessParameterInvalid("The data cube has no time steps.")
    own = [period_label(ts, period) for ts in times]
    step = "h" if period == "hour" else "D"
    every = pd.date_range(times.min().floor(step), times.max(), freq=step)
    labels = list(dict.fromkeys([period_label(ts, period) for ts in every] + own))
    labels.sort()
    groups = [np.array([i for i, lab in enumerate(own) if lab == label], dtype=int)
              for label in labels]
    return groups, labels


def _features(geometries: Any) -> tuple[list[dict], list[dict], Any]:
    if isinstance(geometries, VectorCube):
        return geometries.geometries, geometries.properties, geometries.crs
    if not isinstance(geometries, dict):
        raise ProcessParameterInvalid("geometries must be GeoJSON or a vector cube.")
    crs = (geometries.get("crs") or {}).get("properties", {}).get("name") or 4326
    kind = geometries.get("type")
    if kind == "FeatureCollection":
        feats = geometries.get("features") or []
        return ([f.get("geometry") for f in feats], [dict(f.get("properties") or {})
                                                      for f in feats], crs)
    if kind == "Feature":
        return [geometries.get("geometry")], [dict(geometries.get("properties") or {})], crs
    return [geometries], [{}], crs


@process("aggregate_spatial")
def aggregate_spatial(data: Any, geometries: Any, reducer: Callback,
                      target_dimension: str | None = None, context: Any = None) -> VectorCube:
    """Zonal statistics: one reduced value per geometry (and per other label)."""
    import shapely
    from shapely.geometry import shape

    from jupyter_eo.backend.processes.cubes_mask import geometry_in_crs

    cube = as_cube(data)
    require_dim(cube, X)
    require_dim(cube, Y)
    if target_dimension is not None and target_dimension in cube.dims:
        raise ProcessArgumentInvalid("TargetDimensionExists",
                                     f"Dimension {target_dimension!r} exists.")
    geoms, props, crs = _features(geometries)
    xs, ys = cube[X].values, cube[Y].values
    other = [d for d in cube.dims if d not in (X, Y)]
    parts = []
    for geojson in geoms:
        try:
            geom = geometry_in_crs(shape(geojson), crs, get_crs(cube))
        except Exception as exc:  # noqa: BLE001
            raise ProcessParameterInvalid(f"Invalid geometry: {exc}") from exc
        iy, ix = _pixels(geom, xs, ys, shapely)
        if len(iy) == 0:
            template = cube.isel({X: 0, Y: 0}, drop=True)
            values = xr.full_like(template, np.nan, dtype=float)
            totals = valid = xr.zeros_like(template, dtype=int)
        else:
            y0, y1, x0, x1 = iy.min(), iy.max() + 1, ix.min(), ix.max() + 1
            sub = cube.isel({Y: slice(y0, y1), X: slice(x0, x1)})
            flat = sub.stack({ARRAY_DIM: (Y, X)}).isel(
                {ARRAY_DIM: (iy - y0) * (x1 - x0) + (ix - x0)})
            flat = flat.drop_vars([c for c in (ARRAY_DIM, Y, X) if c in flat.coords])
            values = reducer(data=flat, context=context)
            if not isinstance(values, xr.DataArray):
                values = xr.full_like(flat.isel({ARRAY_DIM: 0}, drop=True), values)
            totals = xr.full_like(flat.isel({ARRAY_DIM: 0}, drop=True), len(iy), dtype=int)
            valid = flat.notnull().sum(ARRAY_DIM)
        if target_dimension is not None:
            values = xr.concat([values.astype(float), totals.astype(float), valid.astype(float)],
                               dim=pd.Index(["value", "total_count", "valid_count"],
                                            name=target_dimension))
        parts.append(values)
    values = xr.concat(parts, dim=GEOMETRY) if parts else xr.DataArray(
        np.empty((0,)), dims=(GEOMETRY,))
    values = values.transpose(GEOMETRY, *[d for d in other if d in values.dims],
                              *([target_dimension] if target_dimension else []))
    values = values.drop_vars([c for c in values.coords if c == "spatial_ref"])
    return VectorCube(list(geoms), values, get_crs(cube) or crs, props)


def _pixels(geom: Any, xs: np.ndarray, ys: np.ndarray, shapely: Any
            ) -> tuple[np.ndarray, np.ndarray]:
    if geom.is_empty:
        return np.array([], int), np.array([], int)
    if geom.geom_type in ("Point", "MultiPoint"):
        points = list(geom.geoms) if geom.geom_type == "MultiPoint" else [geom]
        iy = np.array([int(np.abs(ys - p.y).argmin()) for p in points])
        ix = np.array([int(np.abs(xs - p.x).argmin()) for p in points])
        return iy, ix
    west, south, east, north = geom.bounds
    cols = np.nonzero((xs >= west) & (xs <= east))[0]
    rows = np.nonzero((ys >= south) & (ys <= north))[0]
    if len(cols) == 0 or len(rows) == 0:
        return np.array([], int), np.array([], int)
    gx, gy = np.meshgrid(xs[cols], ys[rows])
    shapely.prepare(geom)
    inside = shapely.intersects_xy(geom, gx, gy)
    r, c = np.nonzero(inside)
    return rows[r], cols[c]


PLAN_AWARE.update({"aggregate_temporal", "aggregate_temporal_period"})
