"""merge_cubes: union of two cubes with an optional overlap resolver."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import xarray as xr

from jupyter_eo.backend.cube import X, Y
from jupyter_eo.backend.processes.cubes_common import as_cube
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessArgumentInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


def _labels(cube: xr.DataArray, dim: str) -> list[Any]:
    return list(cube[dim].values) if dim in cube.coords else list(range(cube.sizes[dim]))


@process("merge_cubes")
def merge_cubes(cube1: Any, cube2: Any, overlap_resolver: Callback | None = None,
                context: Any = None) -> Any:
    """Merge two cubes; overlapping labels need ``overlap_resolver(x=cube1, y=cube2)``."""
    a, b = as_cube(cube1, "cube1"), as_cube(cube2, "cube2")
    for dim in (X, Y):
        if (dim in a.dims) != (dim in b.dims):
            raise ProcessArgumentInvalid("DimensionMismatch", "Spatial dimensions differ.")
    if set(b.dims) - set(a.dims) and not set(a.dims) - set(b.dims):
        a, b = b, a  # broadcast the smaller cube
    if set(b.dims) - set(a.dims):
        raise ProcessArgumentInvalid("DimensionMismatch",
                                     "The cubes have different dimensions.")
    b = b.transpose(*[d for d in a.dims if d in b.dims])
    if set(b.dims) != set(a.dims):  # cube2 lacks dims: broadcast resolver over them
        if overlap_resolver is None:
            raise ProcessArgumentInvalid("OverlapResolverMissing",
                                         "Overlapping data needs an overlap resolver.")
        out = overlap_resolver(x=a, y=b, context=context)
        return out.transpose(*a.dims) if isinstance(out, xr.DataArray) else out
    differing = [d for d in a.dims if _labels(a, d) != _labels(b, d)]
    if not differing:
        if overlap_resolver is None:
            raise ProcessArgumentInvalid("OverlapResolverMissing",
                                         "Overlapping data needs an overlap resolver.")
        out = overlap_resolver(x=a, y=b, context=context)
        return out.transpose(*a.dims)
    if len(differing) == 1:
        dim = differing[0]
        la, lb = _labels(a, dim), _labels(b, dim)
        common = [v for v in lb if v in la]
        only_b = [v for v in lb if v not in la]
        if common:
            if overlap_resolver is None:
                raise ProcessArgumentInvalid("OverlapResolverMissing",
                                             "Overlapping data needs an overlap resolver.")
            resolved = overlap_resolver(x=a.sel({dim: common}), y=b.sel({dim: common}),
                                        context=context)
            keep_a = [v for v in la if v not in common]
            parts = [a.sel({dim: keep_a}), resolved.transpose(*a.dims), b.sel({dim: only_b})]
            out = xr.concat([p for p in parts if p.sizes[dim]], dim=dim)
            return out.sel({dim: la + only_b})
        out = xr.concat([a, b.sel({dim: only_b})], dim=dim)
        out.attrs = a.attrs
        return out
    # several differing dims (e.g. disjoint spatial extents): outer join, cube1 wins unless a
    # resolver is given for cells present in both
    left, right = xr.align(a, b, join="outer")
    both = left.notnull() & right.notnull()
    if overlap_resolver is not None and bool(both.any()):
        resolved = overlap_resolver(x=left, y=right, context=context)
        out = xr.where(both, resolved, left.fillna(right))
    else:
        out = left.fillna(right)
    out.attrs = a.attrs
    return out.transpose(*a.dims)

