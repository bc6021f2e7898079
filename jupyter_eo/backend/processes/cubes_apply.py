"""Pixel-wise cube processes: apply and ndvi (fused when possible)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS
from jupyter_eo.backend.engine.kernels import Unsupported, compile_callback
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube, common_names
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessArgumentInvalid

if TYPE_CHECKING:
    from jupyter_eo.backend.engine.evaluator import Callback


@process("apply")
def apply(data: Any, process: Callback, context: Any = None) -> Any:
    """Apply a unary callback to every pixel value."""
    if isinstance(data, BlockPlan):
        try:
            fn = compile_callback(process.graph, value_param="x", context=context)
            return data.with_step(("apply", fn))
        except Unsupported:
            pass
    cube = as_cube(data)
    result = process(x=cube, context=context)
    if not isinstance(result, xr.DataArray):
        result = xr.full_like(cube, result, dtype=float if result is None else None)
    result.attrs = cube.attrs
    return result


class NormDiff:
    """Picklable fused step: (x - y) / (x + y) of two band positions."""

    def __init__(self, ix: int, iy: int) -> None:
        self.ix, self.iy = ix, iy

    def __call__(self, bands: list[np.ndarray]) -> np.ndarray:
        x, y = bands[self.ix], bands[self.iy]
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x - y) / (x + y)


def _band(labels: list[str], names: dict[str, str], wanted: str, code: str) -> str:
    if wanted in labels:
        return wanted
    if names.get(wanted) in labels:
        return names[wanted]
    raise ProcessArgumentInvalid(code, f"The {wanted!r} band could not be identified.")


@process("ndvi")
def ndvi(data: Any, nir: str = "nir", red: str = "red", target_band: str | None = None) -> Any:
    """NDVI from the bands named (or with common names) ``nir`` and ``red``."""
    bands = data.bands if isinstance(data, BlockPlan) else (
        list(data.coords[BANDS].values) if BANDS in data.dims else None)
    if bands is None:
        raise ProcessArgumentInvalid("DimensionAmbiguous", "ndvi needs a bands dimension.")
    labels = [str(b) for b in bands]
    names = common_names(data)
    nir_b = _band(labels, names, nir, "NirBandAmbiguous")
    red_b = _band(labels, names, red, "RedBandAmbiguous")
    if target_band is not None and target_band in labels:
        raise ProcessArgumentInvalid("BandExists", f"A band named {target_band!r} exists.")
    if isinstance(data, BlockPlan):
        step = NormDiff(labels.index(nir_b), labels.index(red_b))
        if target_band is None:
            return data.with_step(("reduce_bands", step))
        return data.with_step(("append_band", step, target_band))
    x, y = data.sel({BANDS: nir_b}, drop=True), data.sel({BANDS: red_b}, drop=True)
    result = (x - y) / (x + y)
    result.attrs = data.attrs
    if target_band is None:
        return result
    result = result.expand_dims({BANDS: [target_band]}).transpose(*data.dims)
    return xr.concat([data, result], dim=BANDS)


PLAN_AWARE.update({"apply", "ndvi"})


@process("apply_dimension")
def apply_dimension(data: Any, process: Callback, dimension: str,
                    target_dimension: str | None = None, context: Any = None) -> Any:
    """Apply a callback to all values along ``dimension`` at once (vectorised)."""
    from jupyter_eo.backend.processes.cubes_common import require_dim
    from jupyter_eo.backend.processes.registry import ARRAY_DIM, along_dimension

    cube = as_cube(data)
    require_dim(cube, dimension)
    if target_dimension is not None and target_dimension != dimension \
            and target_dimension in cube.dims:
        raise ProcessArgumentInvalid("DimensionExists", f"{target_dimension!r} exists.")
    arr = along_dimension(cube, dimension)
    result = process(data=arr, context=context)
    if not isinstance(result, xr.DataArray) or ARRAY_DIM not in result.dims:
        if isinstance(result, xr.DataArray):
            result = result.expand_dims({ARRAY_DIM: 1})
        else:
            raise ProcessArgumentInvalid("ProcessParameterInvalid",
                                         "apply_dimension's process must return an array.")
    name = target_dimension or dimension
    same = result.sizes[ARRAY_DIM] == cube.sizes[dimension]
    if ARRAY_DIM in result.coords:
        result = result.drop_vars(ARRAY_DIM)
    result = result.rename({ARRAY_DIM: name})
    if same and name == dimension and dimension in cube.coords:
        result = result.assign_coords({name: cube[dimension].values})
    else:
        result = result.assign_coords({name: np.arange(result.sizes[name])})
    order = [name if d == dimension else d for d in cube.dims]
    result = result.transpose(*order, *[d for d in result.dims if d not in order])
    result.attrs = cube.attrs
    return result


_BORDER_MODES = {"replicate": "edge", "reflect": "symmetric", "reflect_pixel": "reflect",
                 "wrap": "wrap"}


@process("apply_kernel")
def apply_kernel(data: Any, kernel: list, factor: float = 1, border: Any = 0,
                 replace_invalid: float = 0) -> Any:
    """2-D convolution over x/y with a weights matrix (odd sizes), lazily via shifted sums."""
    from jupyter_eo.backend.cube import X, Y

    cube = as_cube(data)
    weights = np.asarray(kernel, dtype=float)
    if weights.ndim != 2 or weights.shape[0] % 2 == 0 or weights.shape[1] % 2 == 0:
        raise ProcessArgumentInvalid("KernelDimensionsUneven",
                                     "Each dimension of the kernel must have an odd size.")
    ry, rx = weights.shape[0] // 2, weights.shape[1] // 2
    filled = cube.fillna(replace_invalid)
    if isinstance(border, (int, float)) and not isinstance(border, bool):
        padded = filled.pad({Y: (ry, ry), X: (rx, rx)}, mode="constant",
                            constant_values=border)
    elif border in _BORDER_MODES:
        padded = filled.pad({Y: (ry, ry), X: (rx, rx)}, mode=_BORDER_MODES[border])
    else:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", f"Unknown border {border!r}.")
    ny, nx = cube.sizes[Y], cube.sizes[X]
    total = None
    for i in range(weights.shape[0]):
        for j in range(weights.shape[1]):
            w = weights[i, j]
            if w == 0:
                continue
            window = padded.isel({Y: slice(i, i + ny), X: slice(j, j + nx)}).variable * w
            total = window if total is None else total + window
    if total is None:
        total = xr.zeros_like(filled).variable
    out = xr.DataArray(total * factor, dims=cube.dims, coords=cube.coords, attrs=cube.attrs)
    return out.astype(cube.dtype if cube.dtype.kind == "f" else np.float64)


def _size_px(entries: list[dict], dim: str, default: int) -> int:
    for entry in entries or []:
        if entry.get("dimension") == dim:
            value = entry.get("value")
            if value is None:
                return default
            if entry.get("unit", "px") != "px" or not isinstance(value, (int, float)):
                raise ProcessArgumentInvalid(
                    "ProcessParameterInvalid",
                    "apply_neighborhood supports pixel sizes for x and y only.")
            return int(value)
    return default


@process("apply_neighborhood")
def apply_neighborhood(data: Any, process: Callback, size: list, overlap: list | None = None,
                       context: Any = None) -> Any:
    """Run ``process`` on spatial tiles (with overlap) and stitch the tile cores together."""
    from jupyter_eo.backend.cube import X, Y

    cube = as_cube(data)
    for entry in size or []:
        if entry.get("dimension") not in (X, Y) and entry.get("value") is not None:
            dim = entry.get("dimension")
            if dim not in cube.dims:
                raise ProcessArgumentInvalid("DimensionNotAvailable", f"No dimension {dim!r}.")
    ty, tx = _size_px(size, Y, cube.sizes[Y]), _size_px(size, X, cube.sizes[X])
    oy, ox = _size_px(overlap or [], Y, 0), _size_px(overlap or [], X, 0)
    if ty <= 0 or tx <= 0:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", "Sizes must be positive.")
    rows = []
    for y0 in range(0, cube.sizes[Y], ty):
        row = []
        for x0 in range(0, cube.sizes[X], tx):
            ys = slice(max(0, y0 - oy), min(cube.sizes[Y], y0 + ty + oy))
            xs = slice(max(0, x0 - ox), min(cube.sizes[X], x0 + tx + ox))
            tile = process(data=cube.isel({Y: ys, X: xs}), context=context)
            if not isinstance(tile, xr.DataArray) or tile.sizes.get(Y) != ys.stop - ys.start \
                    or tile.sizes.get(X) != xs.stop - xs.start:
                raise ProcessArgumentInvalid("DataCubePropertiesImmutable",
                                             "The process must keep the tile's size.")
            core = tile.isel({Y: slice(y0 - ys.start, y0 - ys.start + ty),
                              X: slice(x0 - xs.start, x0 - xs.start + tx)})
            row.append(core)
        rows.append(xr.concat(row, dim=X))
    out = xr.concat(rows, dim=Y)
    out.attrs = cube.attrs
    return out.transpose(*cube.dims)
