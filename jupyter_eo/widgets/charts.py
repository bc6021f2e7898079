"""Small charts as PNG (matplotlib Agg, no pyplot state): time series and histograms."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any, Sequence

import numpy as np


def _figure(width: float = 5.0, height: float = 2.4):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_alpha(0.0)  # transparent: readable on light and dark themes
    return fig


def _style(ax) -> None:
    grey = "#888888"
    for spine in ax.spines.values():
        spine.set_color(grey)
    ax.tick_params(colors=grey, labelsize=8)
    ax.title.set_color(grey)
    ax.xaxis.label.set_color(grey)
    ax.yaxis.label.set_color(grey)
    ax.set_facecolor((0, 0, 0, 0))
    ax.grid(True, alpha=0.3)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def timeseries_png(series: Sequence[tuple[Any, float]], *, title: str = "", ylabel: str = "") -> bytes:
    """A line chart of (date, value) pairs (NaN values are skipped)."""
    fig = _figure()
    ax = fig.add_subplot()
    dates = [_as_datetime(d) for d, _ in series]
    values = np.array([np.nan if v is None else float(v) for _, v in series], dtype="float64")
    ok = np.isfinite(values)
    ax.plot([d for d, k in zip(dates, ok) if k], values[ok], marker="o", markersize=3,
            color="#2e7d32")
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    fig.autofmt_xdate()
    _style(ax)
    return _png(fig)


def histogram_png(values: np.ndarray, *, bins: int = 50, title: str = "",
                  value_range: tuple[float, float] | None = None) -> bytes:
    """A histogram of the finite values."""
    fig = _figure(4.0, 2.2)
    ax = fig.add_subplot()
    finite = np.asarray(values, dtype="float64").ravel()
    finite = finite[np.isfinite(finite)]
    if finite.size:
        ax.hist(finite, bins=bins, range=value_range, color="#1976d2")
    ax.set_title(title, fontsize=9)
    _style(ax)
    return _png(fig)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ms]").astype(dt.datetime)
    text = str(value).replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return dt.datetime.fromisoformat(text[:10])


def parse_timeseries(payload: Any) -> list[tuple[str, float]]:
    """(date, value) pairs from common openEO JSON shapes of an aggregated time series.

    Accepts ``{date: [[v, ...]]}`` / ``{date: [v]}`` / ``{date: v}`` (one geometry), a list of
    ``{"date"|"t": ..., "value": ...}`` records, or a GeoJSON FeatureCollection whose first
    feature's properties map dates to values.
    """
    def first_number(value: Any) -> float:
        while isinstance(value, (list, tuple)):
            if not value:
                return float("nan")
            value = value[0]
        if isinstance(value, dict):
            numbers = [v for v in value.values() if isinstance(v, (int, float))]
            return float(numbers[0]) if numbers else float("nan")
        return float("nan") if value is None else float(value)

    if isinstance(payload, dict) and isinstance(payload.get("dims"), list) and "data" in payload:
        return _parse_labeled(payload)
    if isinstance(payload, dict) and payload.get("type") == "FeatureCollection":
        features = payload.get("features") or []
        props = (features[0].get("properties") or {}) if features else {}
        payload = {k: v for k, v in props.items() if _looks_like_date(k)}
    if isinstance(payload, dict) and isinstance(payload.get("data"), (list, dict)) and not _looks_like_date(next(iter(payload), "")):
        return parse_timeseries(payload["data"])
    if isinstance(payload, dict):
        pairs = [(str(k), first_number(v)) for k, v in payload.items() if _looks_like_date(str(k))]
    elif isinstance(payload, list):
        pairs = []
        for record in payload:
            if isinstance(record, dict):
                date = record.get("date") or record.get("t") or record.get("time")
                value = record.get("value", record.get("mean"))
                if date is not None:
                    pairs.append((str(date), first_number(value)))
    else:
        raise ValueError(f"Unrecognised time-series result of type {type(payload).__name__}.")
    return sorted(pairs)


def _looks_like_date(text: str) -> bool:
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


def histogram_svg(values: np.ndarray, *, bins: int = 40, value_range: tuple[float, float] | None = None,
                  width: int = 240, height: int = 70) -> str:
    """A small inline-SVG histogram (cheap enough to redraw on every slider step)."""
    finite = np.asarray(values, dtype="float64").ravel()
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return "<svg role='img' aria-label='empty histogram' width='0' height='0'></svg>"
    counts, edges = np.histogram(finite, bins=bins, range=value_range)
    top = counts.max() or 1
    bar = width / bins
    rects = "".join(
        f"<rect x='{i * bar:.1f}' y='{height - c / top * height:.1f}' width='{max(bar - 1, 1):.1f}' "
        f"height='{c / top * height:.1f}'/>" for i, c in enumerate(counts) if c)
    low, high = edges[0], edges[-1]
    return (f"<svg role='img' aria-label='histogram from {low:.4g} to {high:.4g}' width='{width}' "
            f"height='{height + 14}' style='fill: var(--jp-brand-color1, #1976d2)'>{rects}"
            f"<text x='0' y='{height + 12}' style='fill: var(--jp-ui-font-color2, #666); font-size: 10px'>"
            f"{low:.4g}</text><text x='{width}' y='{height + 12}' text-anchor='end' "
            f"style='fill: var(--jp-ui-font-color2, #666); font-size: 10px'>{high:.4g}</text></svg>")


def _parse_labeled(payload: dict[str, Any]) -> list[tuple[str, float]]:
    """``{"dims": [...], "coords": {"t": [...]}, "data": nested lists}`` (first geometry/band)."""
    dims = payload["dims"]
    if "t" not in dims:
        raise ValueError(f"The aggregated result has no time dimension (dims: {dims}).")
    data = np.asarray(payload["data"], dtype="float64")
    index = tuple(slice(None) if d == "t" else 0 for d in dims)
    values = data[index] if data.ndim == len(dims) else data.ravel()
    dates = [str(d) for d in (payload.get("coords") or {}).get("t") or range(values.size)]
    return sorted(zip(dates, values.tolist()))
