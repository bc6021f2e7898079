"""Pixel-wise cube processes: apply and ndvi (fused when possible)."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS
from jupyter_eo.backend.engine.evaluator import PLAN_AWARE, Callback
from jupyter_eo.backend.engine.kernels import Unsupported, compile_callback
from jupyter_eo.backend.engine.plan import BlockPlan
from jupyter_eo.backend.processes.cubes_common import as_cube, common_names
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessArgumentInvalid


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
