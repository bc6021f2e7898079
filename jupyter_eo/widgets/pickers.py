"""Collection, temporal-extent and band pickers driven by openEO collection metadata dicts."""
from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any, Callable, Iterable

import ipywidgets as w
import traitlets as t

from jupyter_eo.widgets.metadata import (band_label, collection_bands, spatial_bbox,
                                         temporal_bounds)
from jupyter_eo.widgets.style import css_style, error_html

MetadataSource = Callable[[str], dict[str, Any]]


class CollectionPicker(w.VBox):
    """Search and pick a collection; shows a summary (bands, extents, license).

    ``collections`` is a list of collection dicts (``GET /collections`` entries). Full metadata
    for the chosen id comes from ``describe`` (e.g. ``connection.describe_collection``) when
    given, otherwise from the list entry. ``value`` is the chosen id, ``collection`` its metadata.
    """

    value = t.Unicode(allow_none=True, default_value=None)
    collection = t.Dict(allow_none=True, default_value=None)

    def __init__(self, collections: Iterable[dict[str, Any]], *,
                 describe: MetadataSource | None = None, value: str | None = None,
                 **kwargs: Any) -> None:
        self._all = [c for c in collections if isinstance(c, dict) and c.get("id")]
        self._describe = describe
        self._cache: dict[str, dict[str, Any]] = {}
        self.search = w.Text(placeholder="Search collections", description="Collection",
                             continuous_update=True, layout=w.Layout(width="100%"))
        self.dropdown = w.Dropdown(options=self._options(""), layout=w.Layout(width="100%"),
                                   description=" ")
        self.summary = w.HTML(layout=w.Layout(width="100%"))
        self.search.observe(self._on_search, names="value")
        self.dropdown.observe(self._on_dropdown, names="value")
        super().__init__([css_style(), self.search, self.dropdown, self.summary], **kwargs)
        self.add_class("jeo-collection-picker")
        initial = value or (self._all[0]["id"] if self._all else None)
        if initial:
            self.value = initial

    @classmethod
    def from_connection(cls, connection: Any, **kwargs: Any) -> "CollectionPicker":
        """A picker listing ``connection.list_collections()``."""
        return cls(connection.list_collections(), describe=connection.describe_collection, **kwargs)

    def _options(self, query: str) -> list[tuple[str, str]]:
        query = query.strip().lower()
        out = []
        for c in self._all:
            text = " ".join([c["id"], c.get("title") or "", c.get("description") or "",
                             " ".join(c.get("keywords") or [])]).lower()
            if not query or all(word in text for word in query.split()):
                title = c.get("title")
                out.append((f"{c['id']} — {title}" if title and title != c["id"] else c["id"], c["id"]))
        return out

    def _on_search(self, change: dict) -> None:
        options = self._options(change["new"])
        current = self.dropdown.value
        self.dropdown.options = options
        ids = [value for _, value in options]
        if current in ids:
            self.dropdown.value = current
        elif ids:
            self.dropdown.value = ids[0]

    def _on_dropdown(self, change: dict) -> None:
        if change["new"] is not None:
            self.value = change["new"]

    def metadata(self, collection_id: str) -> dict[str, Any]:
        """Full metadata of ``collection_id`` (cached)."""
        if collection_id not in self._cache:
            entry = next((c for c in self._all if c["id"] == collection_id), None)
            meta = None
            if self._describe is not None:
                meta = dict(self._describe(collection_id))
            if meta is None:
                if entry is None:
                    raise t.TraitError(f"Unknown collection {collection_id!r}.")
                meta = entry
            self._cache[collection_id] = meta
        return self._cache[collection_id]

    @t.validate("value")
    def _validate_value(self, proposal: dict) -> str | None:
        value = proposal["value"]
        if value is not None and not any(c["id"] == value for c in self._all):
            raise t.TraitError(f"Unknown collection {value!r}.")
        return value

    @t.observe("value")
    def _value_changed(self, change: dict) -> None:
        value = change["new"]
        if value is not None and self.dropdown.value != value:
            if value not in [v for _, v in self.dropdown.options]:
                self.search.value = ""
            self.dropdown.value = value
        self.collection = self.metadata(value) if value else None

    @t.observe("collection")
    def _collection_changed(self, change: dict) -> None:
        self.summary.value = collection_summary_html(change["new"]) if change["new"] else ""


def collection_summary_html(meta: dict[str, Any]) -> str:
    """A compact HTML summary of a collection."""
    bands = collection_bands(meta)
    start, end = temporal_bounds(meta)
    bbox = spatial_bbox(meta)
    rows = [("Bands", ", ".join(b["name"] for b in bands) or "—"),
            ("Time", f"{start or 'open'} … {end or 'ongoing'}"),
            ("Extent", ", ".join(f"{v:g}" for v in bbox) if bbox else "—"),
            ("License", meta.get("license") or "—")]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    title = html.escape(meta.get("title") or meta.get("id", ""))
    return f"<div class='jeo-card'><b>{title}</b><table>{body}</table></div>"


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _parse_iso(text: str) -> dt.date | None:
    """A typed date as ``YYYY-MM-DD`` (None when it is not one)."""
    text = (text or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def clamp_range(start: dt.date, end: dt.date, low: dt.date | None,
                high: dt.date | None) -> tuple[dt.date, dt.date]:
    """``[start, end)`` moved into a collection's ``[low, high]`` (inclusive last day): cut where
    it overlaps, otherwise the same length placed at the nearer end of the collection."""
    limit = high + dt.timedelta(days=1) if high else None
    length = max(end - start, dt.timedelta(days=1))
    if limit is not None and start >= limit:
        start, end = limit - length, limit
    elif low is not None and end <= low:
        start, end = low, low + length
    if low is not None:
        start = max(start, low)
    if limit is not None:
        end = min(end, limit)
    return start, end


class TemporalExtentPicker(w.VBox):
    """Pick a time range ``value = (start, end)`` (ISO dates, end exclusive as in openEO).

    ``value`` is the one source of truth: the From/To fields always show it and the recipes
    use it. Dates are typed as ``YYYY-MM-DD`` and committed on Enter or when the field loses
    focus; a date that is not one, or a From not before To, gets an inline message and changes
    nothing (the kernel never rewrites the other field while the user may be typing in it). ``bounds``
    (first, last) comes from the collection: a range outside it is clamped, with a visible
    note, and the range the user asked for (``requested``) is kept, so switching to a
    collection that covers it restores it. Presets: last month, last 3 months, a season
    (last summer), last year, whole extent.
    """

    value = t.Tuple(t.Unicode(), t.Unicode(), default_value=("2023-06-01", "2023-09-01"))
    bounds = t.Tuple(allow_none=True, default_value=(None, None))

    PRESETS = ("Last month", "Last 3 months", "Last summer (JJA)", "Last year", "Whole extent")

    def __init__(self, value: tuple[str, str] | None = None, *,
                 today: dt.date | None = None, **kwargs: Any) -> None:
        self._today = today
        self._updating = False  # the kernel is writing the fields: not a user's commit
        self._internal = False  # re-clamping the requested range: not a user's request
        self.requested: tuple[str, str] = tuple(self.value)  # type: ignore[assignment]
        field = {"description_width": "initial"}
        self.start = w.Text(description="From", placeholder="YYYY-MM-DD", continuous_update=False,
                            style=field, layout=w.Layout(width="11.5em"))
        self.end = w.Text(description="To", placeholder="YYYY-MM-DD", continuous_update=False,
                          style=field, layout=w.Layout(width="10em"))
        self.preset = w.Dropdown(options=[("Preset…", "")] + [(p, p) for p in self.PRESETS],
                                 value="", description="Range", layout=w.Layout(width="auto"))
        self.info = w.HTML()
        self.note = w.HTML()
        self.start.observe(self._on_text, names="value")
        self.end.observe(self._on_text, names="value")
        self.preset.observe(self._on_preset, names="value")
        super().__init__([w.HBox([self.start, self.end, self.preset],
                                 layout=w.Layout(flex_flow="row wrap")), self.note, self.info], **kwargs)
        self.add_class("jeo-temporal-picker")
        if value is not None:
            self.value = tuple(value)
        self._sync_fields(self.value)

    def set_collection(self, meta: dict[str, Any] | None) -> None:
        """Bound the picker by a collection's temporal extent: the requested range, clamped."""
        start, end = temporal_bounds(meta) if meta else (None, None)
        self.bounds = (_iso(start), _iso(end))
        self._internal = True
        try:
            self.value = self.requested
        finally:
            self._internal = False

    def bind(self, picker: CollectionPicker) -> None:
        """Follow a CollectionPicker's choice."""
        picker.observe(lambda change: self.set_collection(change["new"]), names="collection")
        self.set_collection(picker.collection)

    def _reference_end(self) -> dt.date:
        today = self._today or dt.date.today()
        last = dt.date.fromisoformat(self.bounds[1]) if self.bounds and self.bounds[1] else None
        return min(today, last + dt.timedelta(days=1)) if last else today

    def preset_range(self, name: str) -> tuple[str, str]:
        """The (start, end) of a preset relative to the collection's last date (or today)."""
        end = self._reference_end()
        if name == "Last month":
            start = end - dt.timedelta(days=30)
        elif name == "Last 3 months":
            start = end - dt.timedelta(days=91)
        elif name == "Last summer (JJA)":
            year = end.year if end >= dt.date(end.year, 9, 1) else end.year - 1
            start, end = dt.date(year, 6, 1), dt.date(year, 9, 1)
        elif name == "Last year":
            start = dt.date(end.year - 1, end.month, end.day) if not (end.month == 2 and end.day == 29) \
                else dt.date(end.year - 1, 3, 1)
        elif name == "Whole extent":
            first = self.bounds[0] if self.bounds else None
            start = dt.date.fromisoformat(first) if first else end - dt.timedelta(days=365)
        else:
            raise ValueError(f"Unknown preset {name!r}; choose one of {self.PRESETS}.")
        return start.isoformat(), end.isoformat()

    def apply_preset(self, name: str) -> None:
        """Set the range from a preset."""
        self.value = self.preset_range(name)

    @t.validate("value")
    def _validate_value(self, proposal: dict) -> tuple[str, str]:
        start_s, end_s = proposal["value"]
        try:
            start, end = dt.date.fromisoformat(start_s[:10]), dt.date.fromisoformat(end_s[:10])
        except (TypeError, ValueError):
            raise t.TraitError(f"Dates must be ISO 'YYYY-MM-DD', got {proposal['value']!r}.") from None
        if end <= start:
            raise t.TraitError(f"The end {end} must be after the start {start}.")
        if not self._internal:
            self.requested = (start.isoformat(), end.isoformat())
        low, high = (dt.date.fromisoformat(b) if b else None for b in (self.bounds or (None, None)))
        used = clamp_range(start, end, low, high)
        if used != (start, end):
            self.note.value = error_html(
                f"{start} … {end} is outside this collection's time range ({low or 'open'} … "
                f"{high or 'ongoing'}): using {used[0]} … {used[1]}.")
        else:
            self.note.value = ""
        return used[0].isoformat(), used[1].isoformat()

    @t.observe("value")
    def _value_changed(self, change: dict) -> None:
        self._sync_fields(change["new"])

    @t.observe("bounds")
    def _bounds_changed(self, change: dict) -> None:
        low, high = change["new"] or (None, None)
        self.info.value = (f"<span class='jeo-muted'>Available: {low or 'open'} … {high or 'ongoing'}"
                           "</span>")

    def _sync_fields(self, value: tuple[str, str]) -> None:
        self._updating = True
        try:
            self.start.value, self.end.value = value[0], value[1]
        finally:
            self._updating = False

    def _on_text(self, change: dict) -> None:
        """A date committed in a field (Enter or blur): validate, then apply or explain."""
        if self._updating:
            return
        start, end = _parse_iso(self.start.value), _parse_iso(self.end.value)
        bad = [(f.description, f.value) for f, d in ((self.start, start), (self.end, end)) if d is None]
        if bad:
            name, text = bad[0]
            self.note.value = error_html(f"{name}: type a date as YYYY-MM-DD (got {text!r}); "
                                         f"still using {self.value[0]} … {self.value[1]}.")
            return
        if start >= end:
            # Said, not fixed: moving the other end along would rewrite a field the user may be
            # typing into at that moment (a late write-back replaced a half-typed To).
            self.note.value = error_html(f"From {start} must be before To {end}; still using "
                                         f"{self.value[0]} … {self.value[1]}.")
            return
        self.value = (start.isoformat(), end.isoformat())
        self._sync_fields(self.value)  # e.g. the range was clamped to the collection

    def _on_preset(self, change: dict) -> None:
        if change["new"]:
            self.apply_preset(change["new"])
            self.preset.value = ""


class BandPicker(w.VBox):
    """Pick bands of the current collection, labelled with common names and wavelengths."""

    value = t.Tuple(default_value=())
    bands = t.List(default_value=[])

    def __init__(self, meta: dict[str, Any] | None = None, *, rows: int = 6, **kwargs: Any) -> None:
        self.select = w.SelectMultiple(options=[], rows=rows, description="Bands",
                                       layout=w.Layout(width="100%"))
        self.select.observe(lambda change: setattr(self, "value", tuple(change["new"])), names="value")
        super().__init__([self.select], **kwargs)
        self.add_class("jeo-band-picker")
        if meta is not None:
            self.set_collection(meta)

    def set_collection(self, meta: dict[str, Any] | None) -> None:
        """Offer the bands of ``meta``; keeps chosen bands the collection still has."""
        keep = self.value
        self.bands = collection_bands(meta) if meta else []
        names = [b["name"] for b in self.bands]
        self.value = tuple(b for b in keep if b in names)

    def bind(self, picker: CollectionPicker) -> None:
        """Follow a CollectionPicker's choice."""
        picker.observe(lambda change: self.set_collection(change["new"]), names="collection")
        self.set_collection(picker.collection)

    @t.observe("bands")
    def _bands_changed(self, change: dict) -> None:
        self.select.options = [(band_label(b), b["name"]) for b in change["new"]]

    @t.validate("value")
    def _validate_value(self, proposal: dict) -> tuple:
        names = [b["name"] for b in self.bands]
        unknown = [b for b in proposal["value"] if b not in names]
        if unknown:
            raise t.TraitError(f"Unknown band(s) {unknown}; available: {names}.")
        return tuple(proposal["value"])

    @t.observe("value")
    def _value_changed(self, change: dict) -> None:
        if tuple(self.select.value) != tuple(change["new"]):
            self.select.value = tuple(change["new"])
