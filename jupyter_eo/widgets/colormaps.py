"""Rendering arrays to images: colour scales (fixed, symmetric, robust), RGB, PNG data URLs and
colour bars with units."""
from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: Colormaps offered by the widgets (matplotlib names), first is the default.
COLORMAPS: tuple[str, ...] = ("viridis", "RdYlGn", "magma", "cividis", "gray", "BrBG", "RdBu",
                              "Spectral", "YlGnBu", "terrain")


#: Diverging colormaps: drawn with limits symmetric around 0 when a product is a difference.
DIVERGING: frozenset[str] = frozenset({"RdBu", "BrBG", "RdYlGn", "Spectral", "PiYG", "PuOr", "coolwarm"})


@dataclass(frozen=True)
class ColourScale:
    """How a product is drawn by default.

    ``stretch``: ``"fixed"`` uses ``range`` as is (physically meaningful limits, the same for
    every AOI and date); ``"symmetric"`` centres a diverging colormap on 0 with limits
    ``-L..L``, ``L`` a round number above the 98th percentile of ``|value|``, at most
    ``range[1]``; ``"robust"`` stretches the 2nd–98th percentile of the valid pixels (inside
    ``range`` when given). Only finite values count, and for RGB only pixels where all three
    channels are finite, so masked (cloudy, no-data) pixels never flatten the picture.
    """

    cmap: str = "viridis"
    stretch: str = "robust"
    range: tuple[float, float] | None = None
    units: str = ""
    gamma: float = 1.0  # RGB only: channel = stretched ** gamma (0.5 brightens dark surfaces)

    def limits(self, values: np.ndarray) -> tuple[float, float]:
        """(vmin, vmax) of this scale for ``values`` ((y, x) or (3, y, x) for RGB)."""
        if self.stretch == "fixed" and self.range is not None:
            return float(self.range[0]), float(self.range[1])
        valid = valid_values(values)
        if self.stretch == "symmetric":
            cap = abs(self.range[1]) if self.range is not None else None
            limit = symmetric_limit(valid, cap)
            return -limit, limit
        low, high = percentile_range(valid)
        if self.range is not None:
            low, high = clamp_range(low, high, self.range)
        return low, high


def valid_values(values: np.ndarray) -> np.ndarray:
    """The finite values of a (y, x) array, or of the pixels of a (3, y, x) RGB array whose three
    channels are all finite (flattened; masked pixels are NaN and left out)."""
    array = np.asarray(values, dtype="float64")
    if array.ndim == 3 and array.shape[0] == 3:
        keep = np.all(np.isfinite(array), axis=0)
        return array[:, keep].ravel()
    return array[np.isfinite(array)]


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= ``value`` (> 0)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0 ** exponent
        if candidate >= value * (1 - 1e-9):
            return float(round(candidate, 12))
    return float(10.0 ** (exponent + 1))


def symmetric_limit(values: np.ndarray, cap: float | None = None, percentile: float = 98.0) -> float:
    """A round ``L`` for limits ``-L..L`` covering ``percentile`` % of ``|values|`` (<= ``cap``)."""
    finite = np.abs(np.asarray(values, dtype="float64"))
    finite = finite[np.isfinite(finite)]
    if finite.size == 0 or not np.any(finite > 0):
        return float(cap) if cap else 1.0
    limit = nice_ceil(float(np.percentile(finite, percentile)))
    return float(min(limit, cap)) if cap else limit


def clamp_range(low: float, high: float, limits: tuple[float, float],
                min_share: float = 0.1) -> tuple[float, float]:
    """``(low, high)`` clipped to ``limits`` and widened to at least ``min_share`` of their span
    (so that noise in a nearly uniform image is not blown up into false contrast)."""
    low, high = max(low, limits[0]), min(high, limits[1])
    if high <= low:
        low, high = limits
    min_span = min_share * (limits[1] - limits[0])
    if high - low < min_span:
        centre = (low + high) / 2
        low = max(limits[0], centre - min_span / 2)
        high = min(limits[1], low + min_span)
        low = high - min_span
    return float(low), float(high)


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
                  ranges: Sequence[tuple[float, float]], gamma: float = 1.0) -> np.ndarray:
    """Three 2-D arrays as RGBA uint8, each stretched by its (vmin, vmax) then raised to
    ``gamma``; NaN -> transparent."""
    channels = [_normalise(c, lo, hi) for c, (lo, hi) in zip((red, green, blue), ranges)]
    if gamma != 1.0:
        channels = [np.power(c, gamma) for c in channels]
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


def colorbar_html(cmap: str, vmin: float, vmax: float, label: str = "", units: str = "") -> str:
    """HTML colour bar with min/mid/max ticks, an optional label and units (theme-aware CSS)."""
    mid = (vmin + vmax) / 2
    mid = 0.0 if abs(mid) <= 1e-12 * max(abs(vmin), abs(vmax), 1.0) else mid
    ticks = "".join(f"<span class='jeo-tick'>{v:.4g}</span>" for v in (vmin, mid, vmax))
    text = " — ".join(p for p in (label, units) if p)
    caption = f"<div class='jeo-muted jeo-legend-title'>{html.escape(text)}</div>" if text else ""
    unit_text = f" {units}" if units else ""
    return (f"<div class='jeo-colorbar' role='img' aria-label='colour bar {html.escape(cmap)} "
            f"from {vmin:.4g} to {vmax:.4g}{html.escape(unit_text)}' data-vmin='{vmin!r}' "
            f"data-vmax='{vmax!r}'>{caption}<img src='{data_url(colorbar_png(cmap))}' "
            f"alt=''/><div class='jeo-ticks'>{ticks}</div></div>")


def rgb_legend_html(bands: Sequence[str], vmin: float, vmax: float, units: str = "") -> str:
    """A small legend of an RGB picture: which band is red, green, blue, and the stretch."""
    names = ", ".join(f"{c} = {html.escape(str(b))}" for c, b in zip("RGB", bands))
    unit_text = f" {html.escape(units)}" if units else ""
    return (f"<div class='jeo-muted jeo-rgb-legend'>{names}; stretch {vmin:.4g}–{vmax:.4g}"
            f"{unit_text}</div>")


def render(array: np.ndarray, *, cmap: str = "viridis", vmin: float | None = None,
           vmax: float | None = None, percentiles: tuple[float, float] = (2.0, 98.0),
           gamma: float = 1.0) -> tuple[bytes, tuple]:
    """Render a (y, x) array with a colormap or a (3, y, x) array as RGB; returns (png, ranges).

    Missing ``vmin``/``vmax`` come from the percentiles (per channel for RGB).
    """
    array = np.asarray(array, dtype="float64")
    if array.ndim == 3 and array.shape[0] == 3:
        ranges = []
        keep = np.all(np.isfinite(array), axis=0)  # masked pixels of any channel are left out
        for channel in array:
            low, high = percentile_range(channel[keep], *percentiles)
            ranges.append((low if vmin is None else vmin, high if vmax is None else vmax))
        return png_bytes(rgb_composite(array[0], array[1], array[2], ranges, gamma)), tuple(ranges)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"Cannot render an array of shape {array.shape}: need (y, x) or (3, y, x).")
    if vmin is None or vmax is None:
        low, high = percentile_range(array, *percentiles)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    return png_bytes(colorize(array, vmin, vmax, cmap)), (vmin, vmax)
