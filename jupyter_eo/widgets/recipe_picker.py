"""RecipePicker: choose a recipe that fits the collection (the others listed with the reason) and
its options: reducer, cloud mask, second period, bands to view, band-math formula."""
from __future__ import annotations

import datetime as dt
import html
from typing import Any

import ipywidgets as w
import traitlets as t

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.widgets.metadata import band_label, band_names, collection_bands
from jupyter_eo.widgets.pickers import TemporalExtentPicker
from jupyter_eo.widgets.recipes import RECIPES, default_expression, expression_bands, recipe_availability
from jupyter_eo.widgets.style import error_html

REDUCERS = ("median", "mean", "max", "min")
_NONE = ""


class RecipePicker(w.VBox):
    """``value`` is the recipe id; ``reducer``, ``cloud_mask``, ``second_period``, ``bands`` (for
    the band view: 1 or 3 names) and ``expression`` (for band math) its options. Every option is
    a trait mirrored by one control, so what the controls show is what the graph uses."""

    value = t.Unicode("NDVI")
    reducer = t.Unicode("median")
    cloud_mask = t.Bool(True)
    second_period = t.Tuple(allow_none=True, default_value=None)
    bands = t.Tuple(default_value=())
    expression = t.Unicode("")

    def __init__(self, meta: dict[str, Any] | None = None, value: str = "NDVI", **kwargs: Any) -> None:
        self._meta: dict[str, Any] | None = None
        self._first_period: tuple[str, str] | None = None
        self._syncing = False
        self.dropdown = w.Dropdown(options=[(r.title, r.id) for r in RECIPES.values()], value=value,
                                   description="Recipe", layout=w.Layout(width="100%"))
        self.reducer_dropdown = w.Dropdown(options=REDUCERS, value="median", description="Over time",
                                           layout=w.Layout(width="auto"))
        self.mask_box = w.Checkbox(value=True, description="Mask clouds (SCL)", indent=False,
                                   layout=w.Layout(width="auto"))
        self.period2 = TemporalExtentPicker(("2023-06-01", "2023-09-01"))
        self.period2.start.description, self.period2.end.description = "After: from", "to"
        self._period2_default = tuple(self.period2.requested)  # follows the first period until the user picks dates
        self.period2.layout.display = "none"
        # band view: one band with a colour map, or three as red/green/blue
        self.band_mode = w.ToggleButtons(options=[("1 band", 1), ("RGB", 3)], value=1,
                                         style={"button_width": "6.5em"})
        narrow = {"description_width": "initial"}
        self.band_dropdowns = [w.Dropdown(description=d, style=narrow, layout=w.Layout(width="auto"))
                               for d in ("Band", "Green", "Blue")]
        self.band_box = w.VBox([self.band_mode, w.HBox(self.band_dropdowns, layout=w.Layout(flex_flow="row wrap"))],
                               layout=w.Layout(display="none"))
        # band math: a formula over band names, committed on Enter / blur
        self.formula = w.Text(description="Formula", placeholder="(B08 - B04) / (B08 + B04)",
                              continuous_update=False, layout=w.Layout(width="100%", display="none"))
        self.formula_note = w.HTML()
        self.info = w.HTML()
        self.unavailable = w.HTML()
        self.dropdown.observe(lambda c: setattr(self, "value", c["new"]) if c["new"] else None, names="value")
        self.reducer_dropdown.observe(lambda c: setattr(self, "reducer", c["new"]), names="value")
        self.mask_box.observe(self._on_mask, names="value")
        self.period2.observe(self._on_period2, names="value")
        self.band_mode.observe(self._on_band_controls, names="value")
        for dropdown in self.band_dropdowns:
            dropdown.observe(self._on_band_controls, names="value")
        self.formula.observe(self._on_formula, names="value")
        super().__init__([self.dropdown, w.HBox([self.reducer_dropdown, self.mask_box],
                                                 layout=w.Layout(flex_flow="row wrap")),
                          self.period2, self.band_box, self.formula, self.formula_note, self.info,
                          self.unavailable], **kwargs)
        self.add_class("jeo-recipe-picker")
        self.value = value
        if meta is not None:
            self.set_collection(meta)
        self._describe()

    # -- collection ----------------------------------------------------------------------
    def set_collection(self, meta: dict[str, Any] | None) -> None:
        """Offer the recipes the collection supports (keeps the choice when still offered) and
        list the others with the reason; the band view and formula follow its bands."""
        self._meta = meta
        availability = recipe_availability(meta) if meta else [(r, None) for r in RECIPES.values()]
        offered = [r for r, reason in availability if reason is None]
        ids = [r.id for r in offered]
        keep = self.value if self.value in ids else ids[0]
        self._syncing = True
        try:
            self.dropdown.options = [(r.title, r.id) for r in offered]
            self.dropdown.value = keep
        finally:
            self._syncing = False
        self.unavailable.value = _unavailable_html([(r, why) for r, why in availability if why])
        has_scl = bool(meta) and "SCL" in band_names(meta)
        self.mask_box.layout.display = "" if has_scl else "none"  # never checked-but-disabled
        self.cloud_mask = self.mask_box.value and has_scl
        self._offer_bands(meta or {})
        if not self._formula_fits(self.expression):
            self.expression = default_expression(meta or {})
        if meta:
            self.period2.set_collection(meta)
            if self._first_period is not None:  # the default second period, in the new bounds
                self.follow_first_period(self._first_period)
        if self.value != keep:
            self.value = keep
        else:
            self._show_options()
            self._describe()

    def bind(self, picker: Any) -> None:
        """Follow a CollectionPicker."""
        picker.observe(lambda change: self.set_collection(change["new"]), names="collection")
        self.set_collection(picker.collection)

    def _offer_bands(self, meta: dict[str, Any]) -> None:
        bands = collection_bands(meta)
        names = [b["name"] for b in bands]
        keep = [b for b in self.bands if b in names]
        if len(keep) not in (1, 3):
            keep = names[:1]
        options = [(band_label(b), b["name"]) for b in bands]
        self._syncing = True
        try:
            for i, dropdown in enumerate(self.band_dropdowns):
                dropdown.options = options if i == 0 else [("—", _NONE)] + options
                dropdown.value = keep[i] if i < len(keep) else (names[0] if i == 0 and names else
                                                                (None if i == 0 else _NONE))
            self.band_mode.value = len(keep) if keep else 1
        finally:
            self._syncing = False
        self.bands = tuple(keep)
        self._show_band_controls()

    # -- traits <-> controls -------------------------------------------------------------
    @t.validate("value")
    def _validate_value(self, proposal: dict) -> str:
        if proposal["value"] not in RECIPES:
            raise t.TraitError(f"Unknown recipe {proposal['value']!r}; known: {', '.join(RECIPES)}.")
        return proposal["value"]

    @t.observe("value")
    def _value_changed(self, change: dict) -> None:
        if self.dropdown.value != change["new"] and change["new"] in [v for _, v in self.dropdown.options]:
            self.dropdown.value = change["new"]
        self._show_options()
        self._describe()

    @t.validate("bands")
    def _validate_bands(self, proposal: dict) -> tuple:
        bands = tuple(proposal["value"])
        names = band_names(self._meta or {})
        if bands and len(bands) not in (1, 3):
            raise t.TraitError(f"Pick 1 band or 3 bands (RGB), not {len(bands)}.")
        unknown = [b for b in bands if names and b not in names]
        if unknown:
            raise t.TraitError(f"Unknown band(s) {unknown}; available: {names}.")
        return bands

    @t.observe("bands")
    def _bands_changed(self, change: dict) -> None:
        bands = change["new"]
        self._syncing = True
        try:
            if bands:
                self.band_mode.value = len(bands)
                for i, dropdown in enumerate(self.band_dropdowns):
                    dropdown.value = bands[i] if i < len(bands) else (dropdown.value if i == 0 else _NONE)
        finally:
            self._syncing = False
        self._show_band_controls()

    @t.validate("expression")
    def _validate_expression(self, proposal: dict) -> str:
        text = proposal["value"].strip()
        if text and self._meta:
            try:
                expression_bands(text, self._meta)
            except ProcessParameterInvalid as exc:
                raise t.TraitError(str(exc)) from None
        return text

    @t.observe("expression")
    def _expression_changed(self, change: dict) -> None:
        if self.formula.value != change["new"]:
            self._syncing = True
            try:
                self.formula.value = change["new"]
            finally:
                self._syncing = False
        self.formula_note.value = ""

    @t.observe("reducer")
    def _reducer_changed(self, change: dict) -> None:
        if self.reducer_dropdown.value != change["new"]:
            self.reducer_dropdown.value = change["new"]
        self._describe()

    @t.observe("cloud_mask")
    def _cloud_mask_changed(self, change: dict) -> None:
        if self._meta is None or "SCL" in band_names(self._meta):  # the box is shown: mirror it
            self.mask_box.value = change["new"]

    def _on_mask(self, change: dict) -> None:
        has_scl = bool(self._meta) and "SCL" in band_names(self._meta)
        self.cloud_mask = change["new"] and (has_scl or self._meta is None)

    def follow_first_period(self, first: tuple[str, str]) -> None:
        """Default the change recipe's second period to the first one a year later (or, where
        the collection ends before that, the latest range of the same length), until the user
        picks its dates; a second period equal to the first would show a difference of 0."""
        self._first_period = tuple(first)
        if tuple(self.period2.requested) != self._period2_default:
            return  # the user's own dates
        start, end = (dt.date.fromisoformat(v) for v in first)
        later = (_plus_year(start), _plus_year(end))
        last = self.period2.bounds[1] if self.period2.bounds else None
        if last and later[1] > dt.date.fromisoformat(last) + dt.timedelta(days=1):
            limit = dt.date.fromisoformat(last) + dt.timedelta(days=1)
            after = max(end, limit - (end - start))
            later = (after if after < limit else limit - (end - start), limit)  # a short collection: overlap
        self._period2_default = (later[0].isoformat(), later[1].isoformat())
        self.period2.value = self._period2_default

    def _on_period2(self, change: dict) -> None:
        if RECIPES[self.value].kind == "change":
            self.second_period = tuple(change["new"])

    def _on_band_controls(self, _change: dict) -> None:
        if self._syncing:
            return
        first, green, blue = (d.value for d in self.band_dropdowns)
        if self.band_mode.value == 3:
            names = band_names(self._meta or {})
            rest = [b for b in names if b != first]
            green = green or (rest[0] if rest else first)
            blue = blue or (rest[1] if len(rest) > 1 else green)
            self.bands = (first, green, blue)
        elif first:
            self.bands = (first,)
        self._show_band_controls()

    def _on_formula(self, change: dict) -> None:
        if self._syncing:
            return
        try:
            self.expression = change["new"]
        except t.TraitError as exc:  # left as typed, explained; the last valid formula stays in use
            self.formula_note.value = error_html(f"{exc} Still using: {self.expression or '(none)'}")

    def _formula_fits(self, text: str) -> bool:
        if not text or not self._meta:
            return bool(text)
        try:
            expression_bands(text, self._meta)
            return True
        except ProcessParameterInvalid:
            return False

    # -- display -------------------------------------------------------------------------
    def _show_options(self) -> None:
        kind = RECIPES[self.value].kind
        self.period2.layout.display = "" if kind == "change" else "none"
        self.second_period = tuple(self.period2.value) if kind == "change" else None
        self.band_box.layout.display = "" if kind == "bands" else "none"
        self.formula.layout.display = "" if kind == "expression" else "none"
        if kind != "expression":
            self.formula_note.value = ""

    def _show_band_controls(self) -> None:
        rgb = self.band_mode.value == 3
        self.band_dropdowns[0].description = "Red" if rgb else "Band"
        for dropdown in self.band_dropdowns[1:]:
            dropdown.layout.display = "" if rgb else "none"

    def _describe(self) -> None:
        recipe = RECIPES[self.value]
        text = recipe.description.replace("{reducer}", self.reducer)
        self.info.value = f"<span class='jeo-muted'>{html.escape(text)}</span>"
        uses_time_reducer = recipe.kind in ("index", "rgb", "change", "backscatter", "bands", "expression")
        self.reducer_dropdown.disabled = not uses_time_reducer


def _plus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _unavailable_html(rows: list[tuple[Any, str]]) -> str:
    if not rows:
        return ""
    items = "".join(f"<li>{html.escape(r.title.split(' — ')[0])}: {html.escape(why)}</li>" for r, why in rows)
    return (f"<details class='jeo-muted'><summary>{len(rows)} recipe(s) not available for this "
            f"collection</summary><ul>{items}</ul></details>")
