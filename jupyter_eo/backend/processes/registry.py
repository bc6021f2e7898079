"""The one registry of openEO processes, keyed by openEO process id.

Conventions every process module follows (the engine relies on them):

* A process is a plain function registered with ``@process("openeo_id")``. Its keyword
  parameters are the spec's parameter names (Python keywords get a trailing underscore, e.g.
  ``if_``, ``and_``; the decorator maps them). Defaults come from the spec when omitted.
* Processes that need the engine (callbacks, loading data, the user) declare a keyword-only
  parameter ``ctx`` and receive a :class:`jupyter_eo.backend.engine.context.ProcessContext`.
* ``null`` / no-data is NaN for numbers and ``None`` for other values.
* Values are Python scalars, strings, dicts, lists, numpy arrays or ``xarray.DataArray``.
  An openEO *array* (e.g. ``data`` of ``mean``) is either a Python list (spec examples) or an
  ``xarray.DataArray`` whose array dimension is named :data:`ARRAY_DIM`; its labels are the
  coordinate of that dimension (``array_element(label=...)`` uses them). Inside a
  ``reduce_dimension``/``apply_dimension``/``aggregate_*`` callback the engine renames the
  cube dimension to ``ARRAY_DIM``, so array processes are vectorised over all other dimensions
  with no Python loop. Array processes therefore accept lists and DataArrays alike
  (use :func:`as_array`) and return DataArrays when given DataArrays.
* Data cubes are ``xarray.DataArray`` with dimensions among ``("t", "bands", "y", "x")`` (plus
  any added dimension), pixel-centre coordinates, and the CRS in rioxarray's ``spatial_ref``
  coordinate (see :mod:`jupyter_eo.backend.cube`). They stay lazy (dask) until written.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import xarray as xr

ARRAY_DIM = "__array__"
#: ids of processes that understand ``BlockPlan`` inputs; every other process gets a DataArray
PLAN_AWARE: set[str] = set()
#: attribute of a cube passed to a dimension callback: the real name of its ``ARRAY_DIM``
ARRAY_SOURCE_ATTR = "jupyter_eo:array_dimension"


def along_dimension(cube: xr.DataArray, dimension: str) -> xr.DataArray:
    """``cube`` with ``dimension`` renamed to :data:`ARRAY_DIM`, remembering the real name."""
    return cube.rename({dimension: ARRAY_DIM}).assign_attrs({ARRAY_SOURCE_ATTR: dimension})


@dataclass(frozen=True)
class ProcessImpl:
    """A registered implementation: the function and how to call it."""

    id: str
    func: Callable[..., Any]
    wants_ctx: bool
    param_map: dict[str, str] = field(default_factory=dict)  # openEO name -> python name


REGISTRY: dict[str, ProcessImpl] = {}


def process(process_id: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the implementation of openEO process ``process_id``."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        wants_ctx = "ctx" in sig.parameters
        param_map = {name.rstrip("_"): name for name in sig.parameters if name != "ctx"}
        if process_id in REGISTRY:
            raise ValueError(f"process {process_id!r} registered twice")
        REGISTRY[process_id] = ProcessImpl(process_id, func, wants_ctx, param_map)
        return func

    return decorator


def as_array(data: Any) -> xr.DataArray:
    """An openEO array value as a DataArray along :data:`ARRAY_DIM` (lists become 1-D, null → NaN)."""
    if isinstance(data, xr.DataArray):
        if ARRAY_DIM not in data.dims:
            raise ValueError("array value without array dimension")
        return data
    values = list(data) if data is not None else []
    if has_per_pixel_elements(values):
        return stack_elements(values)
    if all(isinstance(v, (int, float, bool, np.number, type(None))) for v in values):
        arr = np.array([np.nan if v is None else v for v in values],
                       dtype=float if any(v is None or isinstance(v, float) for v in values)
                       else None)
    else:
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    return xr.DataArray(arr, dims=(ARRAY_DIM,))


def has_per_pixel_elements(values: Any) -> bool:
    """True for a list holding at least one DataArray (per-pixel values inside a callback)."""
    return isinstance(values, (list, tuple)) and any(isinstance(v, xr.DataArray) for v in values)


def stack_elements(values: list[Any]) -> xr.DataArray:
    """A list of per-pixel values (DataArrays and scalars) as one DataArray along ARRAY_DIM.

    This is ``array_create([array_element(data, 0), array_element(data, 1), 2])`` inside a
    dimension callback: every element is broadcast over the others' dimensions; arrays that
    already have ARRAY_DIM contribute all of their elements. Scalars take the arrays' dtype
    where it holds them (NumPy's promotion of Python scalars); null becomes NaN.
    """
    arrays = [v for v in values if isinstance(v, xr.DataArray)]
    scalars = [v for v in values if not isinstance(v, xr.DataArray)]
    if any(not isinstance(v, (int, float, bool, np.number, type(None))) for v in scalars):
        raise ValueError("an array of per-pixel values can only hold numbers, booleans and null")
    weak = [float("nan") if v is None else (v.item() if isinstance(v, np.generic) else v)
            for v in scalars]
    dtype = np.result_type(*[a.dtype for a in arrays], *weak)
    if dtype.kind == "b" and None in scalars:
        dtype = np.dtype(np.float32)
    templates = [a.isel({ARRAY_DIM: 0}, drop=True) if ARRAY_DIM in a.dims else a
                 for a in arrays]
    template = xr.broadcast(*templates)[0] if len(templates) > 1 else templates[0]
    template = template.drop_vars([c for c in template.coords if c not in template.dims
                                   and c != "spatial_ref"], errors="ignore")
    parts = []
    for value in values:
        if isinstance(value, xr.DataArray):
            part = value.astype(dtype) if value.dtype != dtype else value
            if ARRAY_DIM in part.dims:
                part = part.drop_vars(ARRAY_DIM, errors="ignore")
            else:
                part = part.expand_dims(ARRAY_DIM)
            part = part.broadcast_like(template)
        else:
            fill = np.nan if value is None else value
            part = xr.full_like(template, fill, dtype=dtype).expand_dims(ARRAY_DIM)
        parts.append(part.transpose(ARRAY_DIM, *template.dims))
    return xr.concat(parts, dim=ARRAY_DIM, coords="minimal", compat="override",
                     join="override")
