"""Pixel-wise cube processes: apply and ndvi (fused when possible)."""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS
from jupyter_eo.backend.engine.kernels import Unsupported, compile_callback
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube, common_names
from jupyter_eo.backend.processes.math import normalized_difference
from jupyter_eo.backend.processes.registry import PLAN_AWARE, process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

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
        return normalized_difference(bands[self.ix], bands[self.iy])


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
    result = normalized_difference(x, y)
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
    replaced = None  # an existing target dimension: its (single) label is replaced
    if target_dimension is not None and target_dimension != dimension \
            and target_dimension in cube.dims:
        if cube.sizes[target_dimension] != 1:
            raise ProcessParameterInvalid(
                f"apply_dimension can replace the values of the existing target dimension "
                f"{target_dimension!r} only when it has a single label (it has "
                f"{cube.sizes[target_dimension]}); reduce it first or choose a new name.")
        replaced = list(cube.dims)
        cube = cube.isel({target_dimension: 0}, drop=True)
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
    if replaced is not None:  # the target keeps its place; the source dimension is removed
        order = [d for d in replaced if d != dimension]
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


def _size_px(entries: list[dict], dim: str, default: int,
             cube: xr.DataArray | None = None) -> int:
    """A neighbourhood size/overlap along ``dim`` in pixels.

    ``unit`` "px" (or no ``unit`` key) counts pixels; "m" and an explicit null (the unit of the
    reference system) are converted with the cube's pixel size along x/y.
    """
    for entry in entries or []:
        if entry.get("dimension") != dim:
            continue
        value = entry.get("value")
        if value is None:
            return default
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ProcessArgumentInvalid(
                "ProcessParameterInvalid",
                f"apply_neighborhood: the size of {dim!r} must be a non-negative number "
                "(durations are not supported).")
        unit = entry["unit"] if "unit" in entry else "px"
        if unit == "px":
            return int(round(value))
        if unit not in ("m", None) or cube is None or dim not in cube.dims or \
                cube.sizes[dim] < 2 or dim not in cube.coords:
            raise ProcessArgumentInvalid(
                "ProcessParameterInvalid",
                f"apply_neighborhood: unit {unit!r} is not supported for {dim!r}.")
        from jupyter_eo.backend.cube import get_crs

        crs = get_crs(cube)
        if unit == "m" and (crs is None or not crs.axis_info
                            or crs.axis_info[0].unit_name not in ("metre", "meter")):
            raise ProcessArgumentInvalid(
                "ProcessParameterInvalid",
                "apply_neighborhood: sizes in metres need a cube in a metric projection.")
        coords = np.asarray(cube[dim].values, dtype=float)
        step = abs(coords[-1] - coords[0]) / (len(coords) - 1)
        return int(round(value / step))
    return default


def _tiles(n: int, size: int, overlap: int) -> list[tuple[slice, slice]]:
    """(window with overlap, core within that window) along one dimension of length ``n``."""
    out = []
    for start in range(0, n, size):
        win = slice(max(0, start - overlap), min(n, start + size + overlap))
        out.append((win, slice(start - win.start, min(start + size, n) - win.start)))
    return out


@process("apply_neighborhood")
def apply_neighborhood(data: Any, process: Callback, size: list, overlap: list | None = None,
                       context: Any = None) -> Any:
    """Run ``process`` on tiles (x/y/t/... in px, m or CRS units, with overlap); stitch the cores."""
    cube = as_cube(data)
    for entry in [*(size or []), *(overlap or [])]:
        dim = entry.get("dimension")
        if dim not in cube.dims and entry.get("value") is not None:
            raise ProcessArgumentInvalid("DimensionNotAvailable", f"No dimension {dim!r}.")
    # every dimension can be tiled; unnamed ones come whole (spec: "all values")
    sizes = {d: _size_px(size, d, cube.sizes[d], cube) for d in cube.dims}
    overlaps = {d: _size_px(overlap or [], d, 0, cube) for d in cube.dims}
    if any(v <= 0 for v in sizes.values() if v is not None) and cube.size:
        raise ProcessArgumentInvalid("ProcessParameterInvalid", "Sizes must be positive.")
    tiled = [d for d in cube.dims if sizes[d] < cube.sizes[d] or overlaps[d]]
    per_dim = [_tiles(cube.sizes[d], sizes[d], overlaps[d]) for d in tiled]
    cores: dict[tuple[int, ...], xr.DataArray] = {}
    for combo in itertools.product(*[range(len(p)) for p in per_dim]):
        window = {d: per_dim[k][combo[k]][0] for k, d in enumerate(tiled)}
        core = {d: per_dim[k][combo[k]][1] for k, d in enumerate(tiled)}
        piece = cube.isel(window)
        tile = process(data=piece, context=context)
        if not isinstance(tile, xr.DataArray) or \
                any(tile.sizes.get(d) != piece.sizes[d] for d in piece.dims):
            raise ProcessArgumentInvalid("DataCubePropertiesImmutable",
                                         "The process must keep the tile's size.")
        cores[combo] = tile.isel(core)
    out = _stitch(cores, [len(p) for p in per_dim], tiled)
    out.attrs = cube.attrs
    return out.transpose(*cube.dims)


def _stitch(cores: dict[tuple[int, ...], xr.DataArray], counts: list[int],
            dims: list[str]) -> xr.DataArray:
    """Concatenate tile cores back together, last tiled dimension first."""
    if not dims:
        return cores[()]
    level = cores
    for k in range(len(dims) - 1, -1, -1):
        grouped: dict[tuple[int, ...], list[xr.DataArray]] = {}
        for combo in sorted(level):
            grouped.setdefault(combo[:k], []).append(level[combo])
        level = {key: xr.concat(parts, dim=dims[k]) if len(parts) > 1 else parts[0]
                 for key, parts in grouped.items()}
    return level[()]
