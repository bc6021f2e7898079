"""fit_curve and predict_curve: per-pixel non-linear least squares, vectorised and lazy.

``fit_curve`` is an array process (openEO 2.x proposal): on a cube it runs inside
``apply_dimension`` (``dimension="t"``), where its ``data`` is every pixel's series at once
along :data:`ARRAY_DIM`. The series are fitted block by block (``xarray.apply_ufunc`` over
dask chunks with the fitted dimension in one chunk), so chunks stream and memory stays bounded.

The independent variable ``x`` is the array's labels: numbers as they are, temporal labels
(datetimes or date/date-time strings) as **seconds since 1970-01-01T00:00:00Z** (a model with a
yearly period therefore uses ``2π·x / 31557600``). ``predict_curve`` converts its ``labels`` the
same way. Arrays without labels use their indices 0, 1, ... as ``x``.

Both processes also accept the openEO processes 1.x cube-level form that the official
``openeo`` client sends (``DataCube.fit_curve`` / ``DataCube.predict_curve``, see
:mod:`jupyter_eo.specs.overrides`): ``fit_curve(data=cube, ..., dimension=...)`` fits along
``dimension`` exactly as ``apply_dimension`` with the array form does, and
``predict_curve(data=cube, ...)`` without ``labels`` fills ``data``'s no-data values along
``dimension`` with the model's predictions.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pandas as pd
import xarray as xr

from jupyter_eo.backend.cube import BANDS, X, Y
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.curves_solver import fit_series
from jupyter_eo.backend.processes.registry import ARRAY_DIM, as_array, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_XDIM = "__fit_x__"
#: float64 values one fitting chunk may hold (all samples of its series): ~32 MB
CHUNK_VALUES = 4_000_000


# --- x values -------------------------------------------------------------------------------

def parse_times(values: Any) -> pd.DatetimeIndex:
    """Datetimes (naive = UTC) or ISO 8601 date/date-time strings as a naive UTC index."""
    values = list(values) if not isinstance(values, np.ndarray) else values
    if len(values) and isinstance(values[0], str):
        times = pd.to_datetime(values, utc=True, format="ISO8601")
    else:
        times = pd.to_datetime(pd.Index(values), utc=True)
    return pd.DatetimeIndex(times).tz_localize(None)


def seconds_since_epoch(values: Any) -> np.ndarray:
    """Datetimes (naive = UTC) or date/date-time strings as float seconds since the epoch."""
    times = parse_times(values)
    out = (times.values.astype("datetime64[ns]") - _EPOCH) / np.timedelta64(1, "s")
    return np.where(pd.isna(times), np.nan, out).astype(np.float64)


def x_values(labels: Any) -> np.ndarray:
    """The ``x`` value of each label: numbers as is, temporal labels as epoch seconds."""
    arr = np.asarray(labels)
    if arr.dtype.kind == "M":
        return seconds_since_epoch(arr)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "b":
        raise ProcessParameterInvalid("fit_curve: labels must be numbers, dates or date-times.")
    values = list(arr.tolist())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) or v is None
           for v in values):
        return np.array([np.nan if v is None else float(v) for v in values])
    if all(isinstance(v, str) for v in values):
        try:
            return seconds_since_epoch(values)
        except (ValueError, TypeError) as exc:
            raise ProcessParameterInvalid(
                f"Labels must be numbers, dates or date-times: {exc}") from exc
    raise ProcessParameterInvalid("Labels must be numbers, dates or date-times.")


def _array_x(da: xr.DataArray) -> np.ndarray:
    if ARRAY_DIM in da.coords:
        return x_values(da[ARRAY_DIM].values)
    return np.arange(da.sizes[ARRAY_DIM], dtype=np.float64)


# --- the model function ---------------------------------------------------------------------

class ModelFunction:
    """A ``function(x, parameters)`` callback made runnable inside dask tasks and picklable.

    Keeps the callback's graph, the simple (JSON-like) values of the enclosing parameters and
    every user-defined process the graph calls (resolved once, here), so a worker evaluates it
    with a fresh engine context. The live cancel event is kept only in this process.
    """

    def __init__(self, callback: Any) -> None:
        self.graph: dict[str, Any] = callback.graph
        self.outer = {k: v for k, v in callback.outer.items() if _json_like(v)}
        self.depth: int = callback.depth
        self.udps = _collect_udps(callback.graph, callback.ctx)
        self._cancel = getattr(callback.ctx, "cancel_event", None)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cancel": None}

    def _lookup(self, process_id: str, namespace: str | None) -> dict | None:
        return self.udps.get((process_id, namespace))

    def check_cancel(self) -> None:
        """Raise openEO ``Cancelled`` when the run that built this model was cancelled."""
        from jupyter_eo.backend.engine.context import EvalContext

        EvalContext(cancel_event=self._cancel).check_cancel()

    def __call__(self, **params: Any) -> Any:
        from jupyter_eo.backend.engine.context import EvalContext
        from jupyter_eo.backend.engine.evaluator import run_graph

        ctx = EvalContext(udp_resolver=self._lookup, cancel_event=self._cancel)
        return run_graph(self.graph, ctx, {**self.outer, **params}, depth=self.depth)


def _json_like(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_like(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False


def _collect_udps(graph: dict[str, Any], ctx: Any, found: dict | None = None) -> dict:
    """Every user-defined process (recursively) that ``graph`` calls, keyed by (id, namespace)."""
    from jupyter_eo.backend.engine.evaluator import CORE_NAMESPACES
    from jupyter_eo.backend.processes.registry import REGISTRY

    found = {} if found is None else found
    resolver = getattr(ctx, "udp_resolver", None)
    stack = [graph]
    while stack:
        current = stack.pop()
        for node in current.values():
            if not isinstance(node, dict):
                continue
            pid, ns = node.get("process_id"), node.get("namespace")
            for value in (node.get("arguments") or {}).values():
                if isinstance(value, dict) and isinstance(value.get("process_graph"), dict):
                    stack.append(value["process_graph"])
            if (pid in REGISTRY and ns in CORE_NAMESPACES) or (pid, ns) in found:
                continue
            doc = resolver(pid, ns) if resolver is not None else None
            if isinstance(doc, dict) and isinstance(doc.get("process_graph"), dict):
                found[(pid, ns)] = doc
                stack.append(doc["process_graph"])
    return found


def model_caller(function: Any, ctx: Any) -> Callable[..., Any]:
    """``function`` as ``f(x=..., parameters=...)``: engine callbacks, graphs or callables."""
    if hasattr(function, "graph") and hasattr(function, "outer"):
        return ModelFunction(function)
    if isinstance(function, dict) and hasattr(ctx, "run_callback"):
        return lambda **params: ctx.run_callback(function, params)
    if callable(function):
        return function
    raise ProcessParameterInvalid("The model 'function' must be a process graph.")


def _evaluate(function: Callable[..., Any], x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """``function`` on numpy ``params`` ``(..., k)`` and ``x`` ``(n,)`` -> values ``(..., n)``."""
    lead = [f"__fit{i}__" for i in range(params.ndim - 1)]
    result = function(x=xr.DataArray(x, dims=(_XDIM,)),
                      parameters=xr.DataArray(params, dims=(*lead, ARRAY_DIM)))
    shape = params.shape[:-1] + (len(x),)
    if isinstance(result, xr.DataArray):
        extra = set(result.dims) - set(lead) - {_XDIM}
        if extra:
            raise ProcessParameterInvalid(
                "The model function must return a single number for each x, not an array.")
        result = result.drop_vars(list(result.coords))
        for name, size in zip(lead + [_XDIM], shape):
            if name not in result.dims:
                result = result.expand_dims({name: size})
        values = result.transpose(*lead, _XDIM).values
    else:
        values = np.nan if result is None else result
    with np.errstate(invalid="ignore"):
        return np.broadcast_to(np.asarray(values, dtype=np.float64), shape)


# --- fit_curve ------------------------------------------------------------------------------

def _check_parameters(parameters: Any) -> np.ndarray:
    values = parameters.values.tolist() if isinstance(parameters, xr.DataArray) else parameters
    if not isinstance(values, (list, tuple)) or len(values) == 0 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ProcessParameterInvalid(
            "fit_curve: 'parameters' must be a non-empty array of numbers (initial guesses).")
    p0 = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(p0)):
        raise ProcessParameterInvalid("fit_curve: initial parameters must be finite numbers.")
    return p0


def _fit_block(values: np.ndarray, *, x: np.ndarray, p0: np.ndarray, model: Any,
               ignore_nodata: bool) -> np.ndarray:
    """Fit every series of a block: ``values`` ``(..., n)`` -> parameters ``(..., k)``."""
    lead = values.shape[:-1]
    y = np.asarray(values, dtype=np.float64).reshape(-1, values.shape[-1])
    bad_x = ~np.isfinite(x)
    y = np.where(bad_x, np.nan, y)  # a sample without a usable x is no-data
    if not ignore_nodata:  # no-data is not ignored: a series with any no-data has no fit
        y = np.where(np.isnan(y).any(axis=1, keepdims=True), np.nan, y)
    xs = np.where(bad_x, 0.0, x)
    out = fit_series(y, p0, lambda p: _evaluate(model, xs, p),
                     check=getattr(model, "check_cancel", None))
    return out.reshape(*lead, len(p0))


def fit_chunks(da: xr.DataArray) -> xr.DataArray:
    """``da`` with :data:`ARRAY_DIM` in one chunk and other chunks bounded in size."""
    if da.chunks is None:
        if da.size <= CHUNK_VALUES:
            return da
        da = da.chunk()  # big in-memory input: fit it in bounded blocks on the thread pool
    sizes = {d: max(c) for d, c in zip(da.dims, da.chunks)}
    sizes[ARRAY_DIM] = da.sizes[ARRAY_DIM]
    while math.prod(sizes.values()) > CHUNK_VALUES:
        biggest = max((d for d in sizes if d != ARRAY_DIM), key=lambda d: sizes[d], default=None)
        if biggest is None or sizes[biggest] == 1:
            break
        sizes[biggest] = (sizes[biggest] + 1) // 2
    current = dict(zip(da.dims, (max(c) for c in da.chunks)))
    target = {d: (-1 if d == ARRAY_DIM else sizes[d]) for d in da.dims
              if d == ARRAY_DIM or sizes[d] != current[d]}
    return da.chunk(target)


def _fit_cube(data: Any, parameters: Any, function: Any, ignore_nodata: Any, dimension: Any,
              ctx: Any) -> xr.DataArray:
    """The 1.x form: fit along ``dimension`` of a cube, which becomes the parameter index."""
    from jupyter_eo.backend.processes.cubes_apply import apply_dimension

    if not isinstance(dimension, str):
        raise ProcessParameterInvalid("fit_curve: 'dimension' must be a dimension name.")
    if isinstance(data, xr.DataArray) and ARRAY_DIM in data.dims:
        raise ProcessParameterInvalid(
            "fit_curve: 'dimension' applies to a data cube only; inside apply_dimension "
            "leave it out (the array is already the series along the dimension).")
    cube = as_cube(data, "data")
    require_dim(cube, dimension)

    def per_series(data: Any, context: Any = None) -> Any:
        return fit_curve(data, parameters, function, ignore_nodata, ctx=ctx)

    fitted = apply_dimension(cube, per_series, dimension)
    # parameter indices even when there happen to be as many parameters as labels
    return fitted.assign_coords({dimension: np.arange(fitted.sizes[dimension])})


@process("fit_curve")
def fit_curve(data: Any, parameters: Any, function: Any, ignore_nodata: bool = True,
              dimension: str | None = None, *, ctx: Any = None) -> Any:
    """Least-squares fit of ``function(x, parameters)`` to a labeled array (vectorised), or
    along ``dimension`` of a data cube (openEO processes 1.x form)."""
    if dimension is not None:
        return _fit_cube(data, parameters, function, ignore_nodata, dimension, ctx)
    p0 = _check_parameters(parameters)
    if not isinstance(ignore_nodata, bool):
        raise ProcessParameterInvalid("fit_curve: 'ignore_nodata' must be a boolean.")
    model = model_caller(function, ctx)
    if not isinstance(data, xr.DataArray):
        arr = as_array(data)
        if arr.dtype.kind not in "iuf":
            raise ProcessParameterInvalid("fit_curve: 'data' must be an array of numbers.")
        fitted = _fit_block(arr.values.astype(np.float64), x=_array_x(arr), p0=p0, model=model,
                            ignore_nodata=ignore_nodata)
        return [None if math.isnan(v) else float(v) for v in fitted]
    if ARRAY_DIM not in data.dims:
        raise ProcessParameterInvalid(
            "fit_curve: 'data' must be an array; on a data cube use it as the process of "
            "apply_dimension (e.g. over dimension 't'), or give the 'dimension' to fit along.")
    if data.dtype.kind not in "iuf":
        raise ProcessParameterInvalid("fit_curve: 'data' must hold numbers.")
    x = _array_x(data)
    _evaluate(model, np.nan_to_num(x[:2]), p0[None])  # a broken model fails now, not in a task
    series = fit_chunks(data.drop_vars([c for c in data.coords if c == ARRAY_DIM]))
    out = xr.apply_ufunc(
        _fit_block, series, input_core_dims=[[ARRAY_DIM]], output_core_dims=[["__param__"]],
        dask="parallelized", output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"__param__": len(p0)}},
        kwargs={"x": x, "p0": p0, "model": model, "ignore_nodata": ignore_nodata})
    return out.rename({"__param__": ARRAY_DIM}).assign_attrs(data.attrs)


# --- predict_curve --------------------------------------------------------------------------

def _parameter_dimension(cube: xr.DataArray, dimension: str) -> str:
    """The dimension holding the parameters: ``dimension`` if present, else the only
    dimension that is neither spatial nor bands nor temporal."""
    if dimension in cube.dims:
        return dimension
    candidates = [d for d in cube.dims if d not in (X, Y, BANDS)
                  and not (d in cube.coords and cube[d].dtype.kind == "M")]
    if len(candidates) != 1:
        raise ProcessArgumentInvalid(
            "DimensionNotAvailable",
            f"predict_curve: no dimension {dimension!r} holding the parameters, and the "
            f"parameter dimension cannot be told from {list(cube.dims)}.")
    return candidates[0]


def _prediction_labels(labels: Any) -> tuple[Any, np.ndarray]:
    if not isinstance(labels, (list, tuple)) or len(labels) == 0:
        raise ProcessParameterInvalid("predict_curve: 'labels' must be a non-empty array.")
    if all(isinstance(v, str) for v in labels):
        x = x_values(list(labels))
        if np.isnan(x).any():
            raise ProcessParameterInvalid("predict_curve: a label is not a date or date-time.")
        return parse_times(list(labels)).values, x
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels):
        return np.asarray(labels), np.asarray(labels, dtype=np.float64)
    raise ProcessParameterInvalid(
        "predict_curve: labels must all be numbers or all be dates / date-times.")


def _predict(cube: xr.DataArray, function: Any, dimension: str, coord: Any, x: np.ndarray,
             ctx: Any) -> xr.DataArray:
    """``function`` with each pixel's parameters (of ``cube``) at ``x``, labelled ``coord``."""
    pdim = _parameter_dimension(cube, dimension)
    model = model_caller(function, ctx)
    params = cube.rename({pdim: ARRAY_DIM})
    params = params.drop_vars([c for c in params.coords if c == ARRAY_DIM])
    if params.dtype.kind != "f":
        params = params.astype(np.float64)
    result = model(x=xr.DataArray(x, dims=(dimension,)), parameters=params)
    template = params.isel({ARRAY_DIM: 0}, drop=True)
    if not isinstance(result, xr.DataArray):
        result = xr.full_like(template, np.nan if result is None else result, dtype=np.float64)
    if ARRAY_DIM in result.dims:
        raise ProcessParameterInvalid(
            "The model function must return a single number for each x, not an array.")
    if dimension not in result.dims:
        result = result.expand_dims({dimension: len(x)})
    result = result.assign_coords({dimension: coord})
    missing = [d for d in template.dims if d not in result.dims]
    if missing:
        result = result.broadcast_like(template)
    order = [dimension if d == pdim else d for d in cube.dims]
    result = result.transpose(*order)
    for name, coord_value in cube.coords.items():
        if name not in result.coords and pdim not in coord_value.dims:
            result = result.assign_coords({name: coord_value})
    return result.assign_attrs({k: v for k, v in cube.attrs.items() if k != "nodata"})


def _fill_gaps(data: xr.DataArray, predicted: xr.DataArray) -> xr.DataArray:
    """``data`` with its no-data values replaced by ``predicted`` (same labels required)."""
    extra = [d for d in predicted.dims if d not in data.dims]
    if extra:
        raise ProcessParameterInvalid(
            f"predict_curve: 'parameters' has dimensions {extra} that 'data' lacks.")
    try:
        filled = xr.where(data.notnull(), data, predicted)
    except ValueError as exc:
        raise ProcessParameterInvalid(
            "predict_curve: 'data' and 'parameters' must have the same labels on their other "
            f"dimensions (fit the parameters on this data cube): {exc}") from exc
    filled = filled.transpose(*data.dims)
    for name, coord_value in data.coords.items():
        if name not in filled.coords:
            filled = filled.assign_coords({name: coord_value})
    return filled.assign_attrs({k: v for k, v in data.attrs.items() if k != "nodata"})


@process("predict_curve")
def predict_curve(parameters: Any, function: Any, dimension: str, labels: Any = None,
                  data: Any = None, *, ctx: Any = None) -> Any:
    """Evaluate ``function`` with each pixel's fitted parameters at the ``labels`` of
    ``dimension`` (which replaces the parameter dimension). With a data cube ``data`` and no
    ``labels`` (openEO processes 1.x form), fill ``data``'s no-data values along
    ``dimension`` with predictions at its own labels."""
    cube = as_cube(parameters, "parameters")
    if not isinstance(dimension, str):
        raise ProcessParameterInvalid("predict_curve: 'dimension' must be a dimension name.")
    target = None
    if data is not None:
        target = as_cube(data, "data")
        require_dim(target, dimension)
    if labels is None:
        if target is None:
            raise ProcessParameterInvalid(
                "predict_curve: 'labels' are required, unless a data cube 'data' is given "
                "whose no-data values along 'dimension' are to be predicted.")
        coord = (target[dimension].values if dimension in target.coords
                 else np.arange(target.sizes[dimension]))
        return _fill_gaps(target, _predict(cube, function, dimension, coord, x_values(coord),
                                           ctx))
    coord, x = _prediction_labels(labels)
    return _predict(cube, function, dimension, coord, x, ctx)
