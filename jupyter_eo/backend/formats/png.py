"""PNG writer for previews and tiles: single band with colormap + stretch, or RGB(A)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y
from jupyter_eo.backend.formats.common import WrittenFile, format_error, raster_metadata

MEDIA_TYPE = "image/png"
PARAMETERS = {
    "colormap": {"type": "string", "description": "Matplotlib colormap name for single-band "
                 "images (default: viridis; greys_r for grey).", "default": "viridis"},
    "min": {"type": "number", "description": "Value mapped to the lowest colour (default: 2nd "
            "percentile of the data)."},
    "max": {"type": "number", "description": "Value mapped to the highest colour (default: "
            "98th percentile of the data)."},
    "stretch": {"type": "string", "description": "Automatic stretch when min/max are not given.",
                "enum": ["percentile", "minmax"], "default": "percentile"},
}


def to_image_array(cube: xr.DataArray) -> np.ndarray:
    """(bands, y, x) float array, north-up, from a raster cube with at most 4 bands."""
    for dim in [d for d in cube.dims if d not in (BANDS, Y, X)]:
        if cube.sizes[dim] != 1:
            raise format_error(f"PNG needs a single {'time step' if dim == T else dim!r}; "
                               f"reduce dimension {dim!r} (size {cube.sizes[dim]}) first.")
        cube = cube.isel({dim: 0}, drop=True)
    if BANDS not in cube.dims:
        cube = cube.expand_dims(BANDS)
    cube = cube.transpose(BANDS, Y, X)
    if cube.sizes[BANDS] not in (1, 2, 3, 4):
        raise format_error(f"PNG supports 1, 3 or 4 bands, got {cube.sizes[BANDS]}.")
    data = np.asarray(cube.values, dtype="float64")
    ys = cube[Y].values
    if ys.size > 1 and ys[1] > ys[0]:
        data = data[:, ::-1, :]
    return data


def _limits(valid: np.ndarray, options: dict[str, Any]) -> tuple[float, float]:
    lo, hi = options.get("min"), options.get("max")
    if lo is None or hi is None:
        if valid.size == 0:
            auto = (0.0, 1.0)
        elif options.get("stretch", "percentile") == "minmax":
            auto = (float(valid.min()), float(valid.max()))
        else:
            auto = tuple(float(v) for v in np.percentile(valid, [2, 98]))
        lo = auto[0] if lo is None else lo
        hi = auto[1] if hi is None else hi
    lo, hi = float(lo), float(hi)
    return (lo, hi if hi > lo else lo + 1e-12)


def render(data: np.ndarray, options: dict[str, Any]) -> bytes:
    """RGBA PNG bytes from a (bands, y, x) array; NaN pixels are transparent."""
    from PIL import Image

    options = options or {}
    nbands, height, width = data.shape
    mask = np.isnan(data).any(axis=0)
    rgba = np.zeros((height, width, 4), dtype="uint8")
    if nbands in (1, 2):
        band = data[0]
        lo, hi = _limits(band[~mask], options)
        scaled = np.clip((np.nan_to_num(band, nan=lo) - lo) / (hi - lo), 0, 1)
        import matplotlib

        name = str(options.get("colormap") or "viridis")
        try:
            cmap = matplotlib.colormaps[name]
        except KeyError:
            raise format_error(f"Unknown colormap {name!r}.") from None
        rgba[:] = (cmap(scaled) * 255).astype("uint8")
    else:
        rgb = data[:3]
        lo, hi = _limits(rgb[:, ~mask], options)
        scaled = np.clip((np.nan_to_num(rgb, nan=lo) - lo) / (hi - lo), 0, 1)
        rgba[..., :3] = (np.moveaxis(scaled, 0, -1) * 255).astype("uint8")
        rgba[..., 3] = 255
        if nbands == 4:
            alpha = np.nan_to_num(data[3], nan=0)
            rgba[..., 3] = np.clip(alpha * (255 if alpha.max() <= 1 else 1), 0, 255).astype("uint8")
    rgba[mask, 3] = 0
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def write(cube: xr.DataArray, path: Path, options: dict[str, Any]) -> WrittenFile:
    path.write_bytes(render(to_image_array(cube), options))
    return WrittenFile(path, MEDIA_TYPE, raster_metadata(cube))
