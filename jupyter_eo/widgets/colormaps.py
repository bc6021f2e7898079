"""Rendering arrays to images: colormaps, percentile stretch, RGB, PNG data URLs and colour bars."""
from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np

#: Colormaps offered by the widgets (matplotlib names), first is the default.
COLORMAPS: tuple[str, ...] = ("viridis", "RdYlGn", "magma", "cividis", "gray", "BrBG", "RdBu",
                              "Spectral", "YlGnBu", "terrain")


def _cmap(name: str):
    from matplotlib import colormaps

    if name not in colormaps:
        raise ValueError(f"Unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}.")
    return colormaps[name]


def percentile_range(values: np.ndarray, low: float = 2.0, high: float = 98.0) -> tuple[float, float]:
    """(vmin, vmax) at the given percentiles of the finite values ((0, 1) when none are finite)."""
    finite = np.asarray(values, dtype="float64")
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    vmin, vmax = np.percentile(finite, [low, high])
    if vmax <= vmin:
        vmax = vmin + (abs(vmin) * 1e-3 or 1e-3)
    return float(vmin), float(vmax)


def _normalise(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    scaled = (np.asarray(values, dtype="float64") - vmin) / ((vmax - vmin) or 1.0)
    return np.clip(scaled, 0.0, 1.0)


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """A 2-D array as RGBA uint8 through a colormap; NaN/inf become transparent."""
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError(f"colorize needs a 2-D array, got shape {values.shape}.")
    rgba = _cmap(cmap)(_normalise(values, vmin, vmax), bytes=True)
    rgba[..., 3] = np.where(np.isfinite(values), 255, 0)
    return rgba


def rgb_composite(red: np.ndarray, green: np.ndarray, blue: np.ndarray,
                  ranges: Sequence[tuple[float, float]]) -> np.ndarray:
    """Three 2-D arrays as RGBA uint8, each stretched by its (vmin, vmax); NaN -> transparent."""
    channels = [_normalise(c, lo, hi) for c, (lo, hi) in zip((red, green, blue), ranges)]
    rgb = np.stack(channels, axis=-1)
    valid = np.all(np.isfinite(np.stack([red, green, blue], axis=-1)), axis=-1)
    out = np.zeros(rgb.shape[:2] + (4,), dtype="uint8")
    out[..., :3] = np.nan_to_num(rgb * 255.0).astype("uint8")
    out[..., 3] = np.where(valid, 255, 0)
    return out


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an RGBA uint8 array as PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def colorbar_png(cmap: str, width: int = 256, height: int = 12) -> bytes:
    """A horizontal colour-bar image for ``cmap``."""
    ramp = np.tile(np.linspace(0.0, 1.0, width), (height, 1))
    return png_bytes(colorize(ramp, 0.0, 1.0, cmap))


def colorbar_html(cmap: str, vmin: float, vmax: float, label: str = "") -> str:
    """HTML colour bar with min/mid/max ticks and an optional label (theme-aware CSS classes)."""
    mid = (vmin + vmax) / 2
    ticks = "".join(f"<span>{v:.4g}</span>" for v in (vmin, mid, vmax))
    caption = f"<div class='jeo-muted'>{html.escape(label)}</div>" if label else ""
    return (f"<div class='jeo-colorbar' role='img' aria-label='colour bar {html.escape(cmap)} "
            f"from {vmin:.4g} to {vmax:.4g}'>{caption}<img src='{data_url(colorbar_png(cmap))}' "
            f"alt=''/><div class='jeo-ticks'>{ticks}</div></div>")


def render(array: np.ndarray, *, cmap: str = "viridis", vmin: float | None = None,
           vmax: float | None = None, percentiles: tuple[float, float] = (2.0, 98.0)) -> tuple[bytes, tuple]:
    """Render a (y, x) array with a colormap or a (3, y, x) array as RGB; returns (png, ranges).

    Missing ``vmin``/``vmax`` come from the percentiles (per channel for RGB).
    """
    array = np.asarray(array, dtype="float64")
    if array.ndim == 3 and array.shape[0] == 3:
        ranges = []
        for channel in array:
            low, high = percentile_range(channel, *percentiles)
            ranges.append((low if vmin is None else vmin, high if vmax is None else vmax))
        return png_bytes(rgb_composite(array[0], array[1], array[2], ranges)), tuple(ranges)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"Cannot render an array of shape {array.shape}: need (y, x) or (3, y, x).")
    if vmin is None or vmax is None:
        low, high = percentile_range(array, *percentiles)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    return png_bytes(colorize(array, vmin, vmax, cmap)), (vmin, vmax)
