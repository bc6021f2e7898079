"""Default colour scales per product: indices on fixed physical ranges, differences centred on 0,
reflectance RGB robustly stretched over valid pixels, backscatter in dB."""
from __future__ import annotations

from typing import Any

from jupyter_eo.widgets.colormaps import ColourScale

#: Vegetation indices: drawn on a fixed range where bare soil is yellow-brown and dense
#: vegetation dark green, the same for every AOI and date (so two maps compare by eye).
VEGETATION_INDICES = frozenset({"NDVI", "GNDVI", "EVI", "EVI2", "SAVI", "MSAVI", "ARVI"})
VEGETATION_RANGE = (-0.2, 0.9)
#: Differences of an index: limits -L..L, L at most this.
CHANGE_CAP = 1.0
#: Sentinel-2 L2A reflectance is delivered as digital numbers = reflectance x 10000.
REFLECTANCE_UNITS = "reflectance × 10⁴"
#: The offline basemap's true colour: DN 0..3000 (reflectance 0..0.3) stretched, then gamma 0.5.
BASEMAP_WHITE_DN = 3000.0
BASEMAP_GAMMA = 0.5


def product_style(recipe: Any) -> ColourScale:
    """The default :class:`ColourScale` of a recipe (anything with ``id``, ``kind``, ``cmap``,
    ``range``; chained recipes ``"NDVI+mask"`` are styled by their own ``cmap``/``range``)."""
    recipe_id = str(getattr(recipe, "id", "") or "")
    kind = getattr(recipe, "kind", "") or ""
    cmap = getattr(recipe, "cmap", None) or "viridis"
    value_range = getattr(recipe, "range", None)
    chained = "+" in recipe_id
    if kind == "change":
        return ColourScale(cmap=cmap, stretch="symmetric", range=(-CHANGE_CAP, CHANGE_CAP),
                           units="Δ NDVI (after − before)")
    if kind == "index":
        if chained:
            return ColourScale(cmap=cmap, stretch="fixed" if value_range else "robust",
                               range=tuple(value_range) if value_range else None)
        if recipe_id in VEGETATION_INDICES:
            return ColourScale(cmap="RdYlGn", stretch="fixed", range=VEGETATION_RANGE,
                               units=f"{recipe_id} (unitless)")
        return ColourScale(cmap=cmap, stretch="fixed", range=tuple(value_range or (-1.0, 1.0)),
                           units=f"{recipe_id} (unitless)")
    if kind == "rgb" and recipe_id == "true_colour":
        # the offline basemap's colours (backend/catalog/basemap.py): previews sit on the map
        return ColourScale(cmap=cmap, stretch="fixed", range=(0.0, BASEMAP_WHITE_DN), gamma=BASEMAP_GAMMA,
                           units=f"{REFLECTANCE_UNITS}, as the basemap")
    if kind == "rgb":
        return ColourScale(cmap=cmap, stretch="robust", range=(0.0, 10000.0), units=REFLECTANCE_UNITS)
    if kind == "backscatter":
        return ColourScale(cmap=cmap or "gray", stretch="fixed", range=tuple(value_range or (-25.0, 0.0)),
                           units="dB (σ⁰)")
    return ColourScale(cmap=cmap, stretch="robust", range=tuple(value_range) if value_range else None)


def style_for_recipe_id(recipe_id: str | None) -> ColourScale | None:
    """The style of a recipe named by id (None when unknown)."""
    from jupyter_eo.widgets.recipes import RECIPES

    recipe = RECIPES.get(recipe_id or "")
    return product_style(recipe) if recipe is not None else None


def product_name(recipe_id: str | None) -> str | None:
    """A short band name for a recipe's single-band result (e.g. ``"NDVI"``, ``"NDVI change"``)."""
    from jupyter_eo.widgets.recipes import RECIPES

    recipe = RECIPES.get(recipe_id or "")
    if recipe is None:
        return None
    if recipe.kind == "change":
        return "NDVI change"
    if recipe.kind == "backscatter":
        return None  # VV/VH keep their names
    if recipe.kind == "index":
        return recipe.id
    return None


__all__ = ["product_style", "style_for_recipe_id", "product_name", "VEGETATION_INDICES",
           "VEGETATION_RANGE"]
