"""RecipePicker: choose a recipe offered by the collection and its options (reducer, cloud mask,
second period for change)."""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from jupyter_eo.widgets.metadata import band_names
from jupyter_eo.widgets.pickers import TemporalExtentPicker
from jupyter_eo.widgets.recipes import RECIPES, recipes_for

REDUCERS = ("median", "mean", "max", "min")


class RecipePicker(w.VBox):
    """``value`` is the recipe id; ``reducer``, ``cloud_mask`` and ``second_period`` its options."""

    value = t.Unicode("NDVI")
    reducer = t.Unicode("median")
    cloud_mask = t.Bool(True)
    second_period = t.Tuple(allow_none=True, default_value=None)

    def __init__(self, meta: dict[str, Any] | None = None, value: str = "NDVI", **kwargs: Any) -> None:
        self.dropdown = w.Dropdown(options=[(r.title, r.id) for r in RECIPES.values()], value=value,
                                   description="Recipe", layout=w.Layout(width="100%"))
        self.reducer_dropdown = w.Dropdown(options=REDUCERS, value="median", description="Over time",
                                           layout=w.Layout(width="auto"))
        self.mask_box = w.Checkbox(value=True, description="Mask clouds (SCL)", indent=False,
                                   layout=w.Layout(width="auto"))
        self.period2 = TemporalExtentPicker(("2023-06-01", "2023-09-01"))
        self.period2.start.description, self.period2.end.description = "After: from", "to"
        self.period2.layout.display = "none"
        self.info = w.HTML()
        self.dropdown.observe(lambda c: setattr(self, "value", c["new"]), names="value")
        self.reducer_dropdown.observe(lambda c: setattr(self, "reducer", c["new"]), names="value")
        self.mask_box.observe(lambda c: setattr(self, "cloud_mask", c["new"]), names="value")
        self.period2.observe(self._on_period2, names="value")
        super().__init__([self.dropdown, w.HBox([self.reducer_dropdown, self.mask_box],
                                                 layout=w.Layout(flex_flow="row wrap")),
                          self.period2, self.info], **kwargs)
        self.add_class("jeo-recipe-picker")
        self.value = value
        if meta is not None:
            self.set_collection(meta)
        self._describe()

    def set_collection(self, meta: dict[str, Any] | None) -> None:
        """Offer the recipes the collection supports (keeps the choice when still offered)."""
        offered = recipes_for(meta) if meta else list(RECIPES.values())
        ids = [r.id for r in offered]
        keep = self.value if self.value in ids else (ids[0] if ids else None)
        self.dropdown.options = [(r.title, r.id) for r in offered]
        if keep:
            self.dropdown.value = keep
            self.value = keep
        has_scl = bool(meta) and "SCL" in band_names(meta)
        self.mask_box.disabled = not has_scl
        self.cloud_mask = self.mask_box.value and has_scl
        if meta:
            self.period2.set_collection(meta)

    def bind(self, picker: Any) -> None:
        """Follow a CollectionPicker."""
        picker.observe(lambda change: self.set_collection(change["new"]), names="collection")
        self.set_collection(picker.collection)

    @t.validate("value")
    def _validate_value(self, proposal: dict) -> str:
        if proposal["value"] not in RECIPES:
            raise t.TraitError(f"Unknown recipe {proposal['value']!r}; known: {', '.join(RECIPES)}.")
        return proposal["value"]

    @t.observe("value")
    def _value_changed(self, change: dict) -> None:
        if self.dropdown.value != change["new"] and change["new"] in [v for _, v in self.dropdown.options]:
            self.dropdown.value = change["new"]
        is_change = RECIPES[change["new"]].kind == "change"
        self.period2.layout.display = "" if is_change else "none"
        self.second_period = tuple(self.period2.value) if is_change else None
        self._describe()

    @t.observe("reducer")
    def _reducer_changed(self, change: dict) -> None:
        if self.reducer_dropdown.value != change["new"]:
            self.reducer_dropdown.value = change["new"]
        self._describe()

    def _on_period2(self, change: dict) -> None:
        if RECIPES[self.value].kind == "change":
            self.second_period = tuple(change["new"])

    def _describe(self) -> None:
        recipe = RECIPES[self.value]
        text = recipe.description.replace("{reducer}", self.reducer)
        self.info.value = f"<span class='jeo-muted'>{html.escape(text)}</span>"
        uses_time_reducer = recipe.kind in ("index", "rgb", "change", "backscatter")
        self.reducer_dropdown.disabled = not uses_time_reducer
