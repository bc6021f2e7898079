"""Proposal cube processes: reduce_spatial, aggregate_spatial_window, flatten_dimensions,
unflatten_dimension (all lazy on dask-backed cubes)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import X, Y
from jupyter_eo.backend.engine.kernels import Unsupported, reducer_of
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import ARRAY_DIM, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback

_WY, _WX = "__window_y__", "__window_x__"


def _reduce_array(arr: xr.DataArray, reducer: Callback, context: Any, what: str) -> xr.DataArray:
    """Call ``reducer`` once on ``arr`` (values along :data:`ARRAY_DIM`), vectorised."""
    result = reducer(data=arr, context=context)
    if isinstance(result, xr.DataArray) and ARRAY_DIM in result.dims:
        raise ProcessParameterInvalid(f"The reducer of {what} did not reduce the values to a "
                                      "single value.")
    if not isinstance(result, xr.DataArray):
        template = arr.isel({ARRAY_DIM: 0}, drop=True)
        result = xr.full_like(template, np.nan if result is None else result,
                              dtype=float if result is None else None)
    return result.drop_vars([c for c in (ARRAY_DIM,) if c in result.coords])


# xarray reductions over (y, x) that equal the openEO reducer on the flattened values; they
# avoid gathering whole rasters into one chunk
_NATIVE = {"mean": "mean", "min": "min", "max": "max"}


@process("reduce_spatial")
def reduce_spatial(data: Any, reducer: Callback, context: Any = None) -> Any:
    """Reduce all pixels of each other label to one value; ``x`` and ``y`` are dropped."""
    cube = as_cube(data)
    require_dim(cube, X)
    require_dim(cube, Y)
    try:
        name, ignore = reducer_of(reducer.graph) if hasattr(reducer, "graph") else ("", True)
    except Unsupported:
        name, ignore = "", True
    if name in _NATIVE:
        values = cube if cube.dtype.kind == "f" else cube.astype(np.float64)
        result = getattr(values, _NATIVE[name])(dim=(Y, X), skipna=ignore)
    else:
        flat = cube.drop_vars([c for c in (X, Y) if c in cube.coords])
        flat = flat.stack({ARRAY_DIM: (Y, X)}, create_index=False)
        result = _reduce_array(flat, reducer, context, "reduce_spatial")
    result = result.drop_vars([c for c in result.coords if set(result[c].dims) & {X, Y}])
    result.attrs = {k: v for k, v in cube.attrs.items() if k != "nodata"}
    return result


# --- aggregate_spatial_window ---------------------------------------------------------------

def _window_size(size: Any) -> tuple[int, int]:
    if (not isinstance(size, (list, tuple)) or len(size) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and float(v).is_integer() and v >= 1 for v in size)):
        raise ProcessParameterInvalid(
            "aggregate_spatial_window: 'size' must be two integers >= 1 (x, then y).")
    return int(size[0]), int(size[1])


def _edges(n: int, window: int, boundary: str, at_start: bool) -> tuple[int, int]:
    """(change at index start, change at index end): positive = pad, negative = trim."""
    rest = n % window
    if rest == 0:
        return 0, 0
    change = window - rest if boundary == "pad" else -rest
    return (change, 0) if at_start else (0, change)


def _step(coord: np.ndarray) -> float:
    return float(coord[1] - coord[0]) if len(coord) > 1 else 1.0


def _centres(coord: np.ndarray, first: int, count: int, window: int) -> np.ndarray:
    """Window centres; ``first`` = index (on the original grid) of the first window's start."""
    step = _step(coord)
    starts = first + window * np.arange(count)
    return coord[0] + (starts + (window - 1) / 2.0) * step


@process("aggregate_spatial_window")
def aggregate_spatial_window(data: Any, reducer: Callback, size: list, boundary: str = "pad",
                             align: str = "upper-left", context: Any = None) -> Any:
    """Reduce non-overlapping ``size`` windows of pixels to one pixel each."""
    cube = as_cube(data)
    require_dim(cube, X)
    require_dim(cube, Y)
    sx, sy = _window_size(size)
    if boundary not in ("pad", "trim"):
        raise ProcessParameterInvalid("aggregate_spatial_window: boundary must be pad or trim.")
    if align not in ("lower-left", "upper-left", "lower-right", "upper-right"):
        raise ProcessParameterInvalid(
            "aggregate_spatial_window: align must be lower-left, upper-left, lower-right or "
            "upper-right.")
    vertical, horizontal = align.split("-")
    ys, xs = cube[Y].values.astype(float), cube[X].values.astype(float)
    y_down = len(ys) < 2 or ys[1] < ys[0]        # north-up: index 0 is the upper row
    x_right = len(xs) < 2 or xs[1] > xs[0]       # index 0 is the left column
    # aligned to the upper edge: padding/trimming happens at the lower edge, and so on
    y0, y1 = _edges(len(ys), sy, boundary, at_start=(vertical == "upper") != y_down)
    x0, x1 = _edges(len(xs), sx, boundary, at_start=(horizontal == "left") != x_right)
    values = cube.drop_vars([c for c in cube.coords if set(cube[c].dims) & {X, Y}])
    trim = {d: slice(max(0, -a), n - max(0, -b))
            for d, a, b, n in ((Y, y0, y1, len(ys)), (X, x0, x1, len(xs)))}
    values = values.isel(trim)
    pads = {d: (max(0, a), max(0, b)) for d, a, b in ((Y, y0, y1), (X, x0, x1))}
    if any(sum(p) for p in pads.values()):
        if values.dtype.kind != "f":
            values = values.astype(np.float64)
        values = values.pad(pads, mode="constant", constant_values=np.nan)
    ny, nx = values.sizes[Y] // sy, values.sizes[X] // sx
    if ny == 0 or nx == 0:
        raise ProcessParameterInvalid(
            "aggregate_spatial_window: trimming leaves no complete window.")
    windows = values.coarsen({Y: sy, X: sx}).construct({Y: (Y, _WY), X: (X, _WX)})
    flat = windows.stack({ARRAY_DIM: (_WY, _WX)}, create_index=False)
    result = _reduce_array(flat, reducer, context, "aggregate_spatial_window")
    result = result.assign_coords({Y: _centres(ys, -y0, ny, sy), X: _centres(xs, -x0, nx, sx)})
    for name, coord in cube.coords.items():
        if name not in result.coords and not set(coord.dims) & {X, Y}:
            result = result.assign_coords({name: coord})
    result = result.transpose(*cube.dims)
    result.attrs = {k: v for k, v in cube.attrs.items() if k != "nodata"}
    return result


# --- flatten_dimensions / unflatten_dimension -----------------------------------------------

def _label_text(value: Any) -> str:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    value = value.item() if isinstance(value, np.generic) else value
    return value if isinstance(value, str) else str(value)


def _labels(cube: xr.DataArray, dim: str) -> list[str]:
    if dim in cube.coords:
        return [_label_text(v) for v in cube[dim].values]
    return [str(i) for i in range(cube.sizes[dim])]


@process("flatten_dimensions")
def flatten_dimensions(data: Any, dimensions: list, target_dimension: str,
                       label_separator: str = "~") -> Any:
    """Combine ``dimensions`` (in the given order) into one dimension with joined labels."""
    cube = as_cube(data)
    if not isinstance(dimensions, (list, tuple)) or not dimensions:
        raise ProcessParameterInvalid("flatten_dimensions: 'dimensions' must name dimensions.")
    if len(set(dimensions)) != len(dimensions):
        raise ProcessParameterInvalid("flatten_dimensions: 'dimensions' has duplicates.")
    for dim in dimensions:
        require_dim(cube, dim)
    if target_dimension in cube.dims:
        raise ProcessArgumentInvalid("TargetDimensionExists",
                                     f"A dimension named {target_dimension!r} exists.")
    if not isinstance(label_separator, str) or not label_separator:
        raise ProcessParameterInvalid("flatten_dimensions: label_separator must be a string.")
    parts = [_labels(cube, d) for d in dimensions]
    grids = np.meshgrid(*[np.array(p, dtype=object) for p in parts], indexing="ij")
    joined = [label_separator.join(items) for items in zip(*(g.ravel() for g in grids))]
    first = min(cube.dims.index(d) for d in dimensions)
    others = [d for d in cube.dims if d not in dimensions]
    values = cube.drop_vars([c for c in cube.coords if set(cube[c].dims) & set(dimensions)])
    values = values.transpose(*others, *dimensions)
    flat = values.stack({target_dimension: list(dimensions)}, create_index=False)
    flat = flat.assign_coords({target_dimension: joined})
    order = others[:first] + [target_dimension] + others[first:]
    return flat.transpose(*order).assign_attrs(cube.attrs)


@process("unflatten_dimension")
def unflatten_dimension(data: Any, dimension: str, target_dimensions: list,
                        label_separator: str = "~") -> Any:
    """Split ``dimension`` into ``target_dimensions`` by splitting its labels."""
    cube = as_cube(data)
    require_dim(cube, dimension)
    if not isinstance(target_dimensions, (list, tuple)) or len(target_dimensions) < 2 \
            or not all(isinstance(d, str) for d in target_dimensions):
        raise ProcessParameterInvalid(
            "unflatten_dimension: 'target_dimensions' must name at least two dimensions.")
    if len(set(target_dimensions)) != len(target_dimensions):
        raise ProcessParameterInvalid("unflatten_dimension: 'target_dimensions' has duplicates.")
    for name in target_dimensions:
        if name in cube.dims:
            raise ProcessArgumentInvalid("TargetDimensionExists",
                                         f"A dimension named {name!r} exists.")
    if not isinstance(label_separator, str) or not label_separator:
        raise ProcessParameterInvalid("unflatten_dimension: label_separator must be a string.")
    split = [label.split(label_separator) for label in _labels(cube, dimension)]
    k = len(target_dimensions)
    bad = [label_separator.join(s) for s in split if len(s) != k]
    if bad:
        raise ProcessParameterInvalid(
            f"unflatten_dimension: label {bad[0]!r} does not split into {k} parts with "
            f"separator {label_separator!r}.")
    uniques = [list(dict.fromkeys(s[i] for s in split)) for i in range(k)]
    shape = [len(u) for u in uniques]
    position = {tuple(s): i for i, s in enumerate(split)}
    if len(position) != len(split):
        raise ProcessParameterInvalid("unflatten_dimension: the dimension has duplicate labels.")
    combos = np.array(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")).reshape(k, -1).T
    index = np.array([position.get(tuple(uniques[i][c] for i, c in enumerate(combo)), -1)
                      for combo in combos])
    values = cube.drop_vars([c for c in cube.coords if dimension in cube[c].dims])
    if len(index) == len(split) and (index == np.arange(len(split))).all():
        picked = values  # labels already in row-major order: a pure reshape
    else:  # missing combinations become no-data
        if values.dtype.kind != "f":
            values = values.astype(np.float64)
        picked = values.isel({dimension: np.where(index < 0, 0, index)})
        picked = picked.where(xr.DataArray(index >= 0, dims=(dimension,)))
    pos = cube.dims.index(dimension)
    others = [d for d in cube.dims if d != dimension]
    picked = picked.transpose(*others, dimension)
    out = xr.DataArray(
        picked.data.reshape(*picked.shape[:-1], *shape),
        dims=(*others, *target_dimensions),
        coords={**{n: c for n, c in picked.coords.items() if dimension not in c.dims},
                **{name: labels for name, labels in zip(target_dimensions, uniques)}},
        attrs=cube.attrs)
    order = others[:pos] + list(target_dimensions) + others[pos:]
    return out.transpose(*order)
