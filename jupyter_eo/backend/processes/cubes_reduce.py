"""reduce_dimension: fused for band math and temporal reducers, xarray otherwise."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import xarray as xr

from jupyter_eo.backend.cube import BANDS, T
from jupyter_eo.backend.engine.kernels import Unsupported, compile_callback, reducer_of
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import ARRAY_DIM, PLAN_AWARE, along_dimension, process
from jupyter_eo.errors import ProcessParameterInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


def _fused(data: BlockPlan, reducer: Callback, dimension: str, context: Any) -> BlockPlan | None:
    try:
        if dimension == T and data.has_t:
            name, ignore = reducer_of(reducer.graph)
            return data.with_reduce(name, ignore)
        if dimension == BANDS and data.bands is not None:
            fn = compile_callback(reducer.graph, array_param="data", labels=data.bands,
                                  context=context)
            return data.with_step(("reduce_bands", fn))
    except Unsupported:
        return None
    return None


def reduce_over(cube: xr.DataArray, dimension: str, reducer: Callback, context: Any) -> Any:
    """Reduce ``dimension`` of a DataArray by calling ``reducer`` once, vectorised."""
    arr = along_dimension(cube, dimension)
    result = reducer(data=arr, context=context)
    if isinstance(result, xr.DataArray) and ARRAY_DIM in result.dims:
        raise ProcessParameterInvalid(
            f"The reducer of dimension {dimension!r} did not reduce it to a single value.")
    if not isinstance(result, xr.DataArray):
        template = arr.isel({ARRAY_DIM: 0}, drop=True)
        result = xr.full_like(template, result, dtype=type(result) if result is not None
                              else float)
    if ARRAY_DIM in result.coords:
        result = result.drop_vars(ARRAY_DIM)
    result.attrs = {k: v for k, v in cube.attrs.items() if k != "nodata"}
    return result


@process("reduce_dimension")
def reduce_dimension(data: Any, reducer: Callback, dimension: str, context: Any = None) -> Any:
    """Reduce a dimension with a reducer callback (e.g. ``max`` over ``t``)."""
    require_dim(data, dimension)
    if isinstance(data, BlockPlan):
        fused = _fused(data, reducer, dimension, context)
        if fused is not None:
            return fused
    return reduce_over(as_cube(data), dimension, reducer, context)


PLAN_AWARE.add("reduce_dimension")
