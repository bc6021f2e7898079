"""Recipe catalogue: spectral indices, colour composites, cloud-masked composites, time series,
change, Sentinel-1 backscatter, and for any collection a band view (1 band or 3 as RGB) and a
typed band-math formula; each produces an openEO graph through ``jupyter_eo.graph``."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.graph.builder import Cube, Expr, GraphBuilder, SCL_CLOUD_CLASSES
from jupyter_eo.widgets.geometry import load_extent
from jupyter_eo.widgets.metadata import band_names, collection_bands

#: Sentinel-2 band names by common name (fallback when metadata lacks common names).
S2_COMMON = {"coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge": "B05",
             "rededge2": "B06", "rededge3": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09",
             "swir16": "B11", "swir22": "B12"}
#: Digital numbers to reflectance for Sentinel-2 L2A (CDSE: reflectance = DN / 10000).
S2_REFLECTANCE_SCALE = 1e-4

Bands = Callable[[str], Expr]


@dataclass(frozen=True)
class Index:
    """A spectral index: formula over common band names; ``needs_scale`` when it has additive
    constants (then bands are converted to reflectance first; ratios are scale-free)."""

    name: str
    title: str
    bands: tuple[str, ...]
    formula: Callable[[Bands], Expr]
    needs_scale: bool = False
    range: tuple[float, float] = (-1.0, 1.0)
    cmap: str = "RdYlGn"


def _nd(a: str, b: str) -> Callable[[Bands], Expr]:
    return lambda band: (band(a) - band(b)) / (band(a) + band(b))


INDICES: dict[str, Index] = {i.name: i for i in (
    Index("NDVI", "Normalized Difference Vegetation Index", ("nir", "red"), _nd("nir", "red")),
    Index("GNDVI", "Green NDVI", ("nir", "green"), _nd("nir", "green")),
    Index("NDWI", "Normalized Difference Water Index (McFeeters)", ("green", "nir"), _nd("green", "nir"),
          cmap="BrBG"),
    Index("NDMI", "Normalized Difference Moisture Index", ("nir", "swir16"), _nd("nir", "swir16"),
          cmap="BrBG"),
    Index("NBR", "Normalized Burn Ratio", ("nir", "swir22"), _nd("nir", "swir22")),
    Index("NBR2", "Normalized Burn Ratio 2", ("swir16", "swir22"), _nd("swir16", "swir22")),
    Index("NDBI", "Normalized Difference Built-up Index", ("swir16", "nir"), _nd("swir16", "nir"),
          cmap="RdBu"),
    Index("NDSI", "Normalized Difference Snow Index", ("green", "swir16"), _nd("green", "swir16"),
          cmap="YlGnBu"),
    Index("EVI", "Enhanced Vegetation Index", ("nir", "red", "blue"),
          lambda b: 2.5 * (b("nir") - b("red")) / (b("nir") + 6 * b("red") - 7.5 * b("blue") + 1),
          needs_scale=True),
    Index("EVI2", "Two-band Enhanced Vegetation Index", ("nir", "red"),
          lambda b: 2.5 * (b("nir") - b("red")) / (b("nir") + 2.4 * b("red") + 1), needs_scale=True),
    Index("SAVI", "Soil Adjusted Vegetation Index (L = 0.5)", ("nir", "red"),
          lambda b: 1.5 * (b("nir") - b("red")) / (b("nir") + b("red") + 0.5), needs_scale=True),
    Index("MSAVI", "Modified Soil Adjusted Vegetation Index", ("nir", "red"),
          lambda b: (2 * b("nir") + 1 - ((2 * b("nir") + 1) ** 2 - 8 * (b("nir") - b("red"))).sqrt()) / 2,
          needs_scale=True),
    Index("ARVI", "Atmospherically Resistant Vegetation Index (gamma = 1)", ("nir", "red", "blue"),
          lambda b: (b("nir") - (2 * b("red") - b("blue"))) / (b("nir") + (2 * b("red") - b("blue")))),
)}


@dataclass(frozen=True)
class RecipeInputs:
    """What a recipe needs: collection (id + metadata), extents and options."""

    collection_id: str
    spatial_extent: dict[str, float]
    temporal_extent: tuple[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)
    cloud_mask: bool = True
    reducer: str = "median"
    second_period: tuple[str, str] | None = None  # for "change"
    geometry: dict[str, Any] | None = None  # the AOI (clips loads unless a rectangle; time series aggregate)
    scale: float | None = None  # DN -> reflectance; None: from metadata / Sentinel-2 default
    bands: tuple[str, ...] = ()  # for "bands": 1 band (colour map) or 3 (RGB); () = the first band
    expression: str = ""  # for "expression": a formula over band names ("": the collection's default)

    def load_extent(self) -> dict[str, Any]:
        """``load_collection``'s ``spatial_extent``: the bbox for rectangular (or no) AOIs, else
        the AOI's GeoJSON, so that pixels outside the drawn polygon(s) come out as no-data."""
        return load_extent(self.geometry, self.spatial_extent)


@dataclass(frozen=True)
class Recipe:
    """A named processing recipe; ``build(inputs)`` returns the result ``Cube``."""

    id: str
    title: str
    kind: str  # "index" | "rgb" | "timeseries" | "change" | "backscatter"
    build: Callable[[RecipeInputs], Cube]
    cmap: str = "viridis"
    range: tuple[float, float] | None = None
    description: str = ""
    needs: tuple[str, ...] = ()  # common band names the recipe reads (for availability)

    def then(self, step: "Step", name: str, *, cmap: str | None = None,
             range: tuple[float, float] | None = None) -> "Recipe":
        """A new recipe: this one followed by ``step(cube, inputs)`` (recipes chain as steps)."""
        return replace(self, id=f"{self.id}+{name}", title=f"{self.title} → {name}",
                       build=lambda inputs: step(self.build(inputs), inputs),
                       cmap=cmap or self.cmap, range=range if range is not None else self.range)

    def graph(self, inputs: RecipeInputs, *, save_format: str | None = None) -> dict[str, Any]:
        """The flat process graph of this recipe (with ``save_result`` when a format is given)."""
        cube = self.build(inputs)
        if save_format:
            cube = cube.save_result(save_format)
        return cube.to_dict()


def resolve_band(meta: dict[str, Any], common: str) -> str:
    """The collection's band name for a common name (Sentinel-2 names as fallback)."""
    bands = collection_bands(meta)
    for band in bands:
        if band.get("common_name") == common:
            return band["name"]
    names = [b["name"] for b in bands]
    fallback = S2_COMMON.get(common, common)
    if not names or fallback in names:
        return fallback
    raise ProcessParameterInvalid(f"Collection has no '{common}' band (bands: {', '.join(names)}).")


def reflectance_scale(meta: dict[str, Any], band: str | None = None) -> float:
    """DN -> reflectance factor from metadata (``scale`` of a band) or the Sentinel-2 default."""
    for entry in collection_bands(meta):
        if band in (None, entry["name"]) and isinstance(entry.get("scale"), (int, float)):
            return float(entry["scale"])
    summaries = meta.get("summaries") or {}
    for entry in summaries.get("raster:bands") or []:
        if isinstance(entry, dict) and isinstance(entry.get("scale"), (int, float)):
            return float(entry["scale"])
    return S2_REFLECTANCE_SCALE


def _has_scl(meta: dict[str, Any]) -> bool:
    names = band_names(meta)
    return not names or "SCL" in names


def _load(inputs: RecipeInputs, bands: list[str], period: tuple[str, str] | None = None) -> Cube:
    use_scl = inputs.cloud_mask and _has_scl(inputs.metadata)
    load_bands = bands + (["SCL"] if use_scl and "SCL" not in bands else [])
    cube = GraphBuilder().load_collection(inputs.collection_id, spatial_extent=inputs.load_extent(),
                                          temporal_extent=list(period or inputs.temporal_extent),
                                          bands=load_bands)
    if use_scl:
        cube = cube.mask_scl(classes=SCL_CLOUD_CLASSES).filter_bands(bands)
    return cube


def index_cube(inputs: RecipeInputs, index: Index, period: tuple[str, str] | None = None) -> Cube:
    """Load the index's bands (cloud-masked) and compute the index per observation."""
    names = {common: resolve_band(inputs.metadata, common) for common in index.bands}
    scale = (inputs.scale if inputs.scale is not None else reflectance_scale(inputs.metadata)) \
        if index.needs_scale else None
    cube = _load(inputs, list(dict.fromkeys(names.values())), period)

    def formula(data: Expr) -> Expr:
        cache: dict[str, Expr] = {}

        def band(common: str) -> Expr:
            if common not in cache:
                value = data[names[common]]
                cache[common] = value * scale if scale is not None else value
            return cache[common]
        return index.formula(band)
    return cube.band_math(formula)


def _index_recipe(index: Index) -> Recipe:
    return Recipe(id=index.name, title=f"{index.name} composite — {index.title}", kind="index",
                  build=lambda inputs: index_cube(inputs, index).reduce_time(inputs.reducer),
                  cmap=index.cmap, range=index.range, needs=index.bands,
                  description=f"{index.title}, per-pixel {{reducer}} over the time range, clouds masked with SCL.")


def _colour(commons: tuple[str, str, str]) -> Callable[[RecipeInputs], Cube]:
    def build(inputs: RecipeInputs) -> Cube:
        names = [resolve_band(inputs.metadata, c) for c in commons]
        return _load(inputs, names).reduce_time(inputs.reducer)
    return build


def _timeseries(inputs: RecipeInputs) -> Cube:
    geometry = inputs.geometry or _bbox_polygon(inputs.spatial_extent)
    return index_cube(inputs, INDICES["NDVI"]).aggregate_spatial(geometry, "mean")


def _change(inputs: RecipeInputs) -> Cube:
    if inputs.second_period is None:
        raise ProcessParameterInvalid("The change recipe needs a second period.")
    before = index_cube(inputs, INDICES["NDVI"]).reduce_time(inputs.reducer)
    after = index_cube(inputs, INDICES["NDVI"], inputs.second_period).reduce_time(inputs.reducer)
    return after.subtract(before)


def _backscatter(inputs: RecipeInputs) -> Cube:
    names = band_names(inputs.metadata)
    bands = [b for b in ("VV", "VH") if not names or b in names]
    if not bands:
        raise ProcessParameterInvalid("Backscatter needs a Sentinel-1 collection with VV/VH bands.")
    cube = GraphBuilder().load_collection(inputs.collection_id, spatial_extent=inputs.load_extent(),
                                          temporal_extent=list(inputs.temporal_extent), bands=bands)
    reducer = "mean" if inputs.reducer == "median" else inputs.reducer
    return cube.reduce_time(reducer).to_db()  # average linear power first, then dB


def _band_view(inputs: RecipeInputs) -> Cube:
    names = band_names(inputs.metadata)
    chosen = list(inputs.bands) or names[:1]
    if len(chosen) not in (1, 3):
        raise ProcessParameterInvalid("Pick 1 band (shown with a colour map) or 3 bands (shown as RGB), "
                                      f"not {len(chosen)}.")
    unknown = [b for b in chosen if names and b not in names]
    if not chosen or unknown:
        raise ProcessParameterInvalid(f"Unknown band(s) {', '.join(unknown) or '(none)'}; "
                                      f"bands: {', '.join(names) or 'none listed'}.")
    return _load_listed(inputs, chosen).reduce_time(inputs.reducer)


def expression_bands(expression: str, meta: dict[str, Any]) -> list[str]:
    """The band names a band-math formula reads, in order of first use; a clear openEO error for
    a formula that does not parse, uses unknown names or anything but arithmetic/functions."""
    from jupyter_eo.graph.builder import band_math_callback

    text = (expression or "").strip()
    if not text:
        raise ProcessParameterInvalid("Type a formula over band names, e.g. (B08 - B04) / (B08 + B04).")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ProcessParameterInvalid(f"Invalid formula {text!r}: {exc.msg}.") from None
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    used = list(dict.fromkeys(node.id for node in ast.walk(tree)
                              if isinstance(node, ast.Name) and id(node) not in functions))
    names = band_names(meta)
    unknown = [u for u in used if names and u not in names]
    if unknown:
        raise ProcessParameterInvalid(f"Unknown band name(s) in the formula: {', '.join(unknown)}; "
                                      f"bands: {', '.join(names)}.")
    if not used:
        raise ProcessParameterInvalid("The formula must use at least one band.")
    band_math_callback(text)  # only arithmetic, comparisons and known functions get through
    return used


def _expression(inputs: RecipeInputs) -> Cube:
    text = inputs.expression.strip() or default_expression(inputs.metadata)
    bands = expression_bands(text, inputs.metadata)
    return _load_listed(inputs, bands).band_math(text).reduce_time(inputs.reducer)


def _load_listed(inputs: RecipeInputs, bands: list[str]) -> Cube:
    """Load bands by name; clouds are masked only where the collection lists an SCL band."""
    if inputs.cloud_mask and "SCL" in band_names(inputs.metadata):
        return _load(inputs, bands)
    return GraphBuilder().load_collection(inputs.collection_id, spatial_extent=inputs.load_extent(),
                                          temporal_extent=list(inputs.temporal_extent), bands=bands)


def default_expression(meta: dict[str, Any]) -> str:
    """A starting formula for a collection: NDVI where it has red and NIR, else a normalized
    difference of its first two bands, else its first band."""
    try:
        nir, red = resolve_band(meta, "nir"), resolve_band(meta, "red")
        if nir in band_names(meta) and red in band_names(meta):
            return f"({nir} - {red}) / ({nir} + {red})"
    except ProcessParameterInvalid:
        pass
    names = [n for n in band_names(meta) if n.isidentifier()]
    if len(names) >= 2:
        return f"({names[1]} - {names[0]}) / ({names[1]} + {names[0]})"
    return names[0] if names else ""


Step = Callable[[Cube, RecipeInputs], Cube]


def threshold(value: float) -> Step:
    """Step: 1 where the value is greater than ``value``, else 0 (e.g. vegetation mask)."""
    return lambda cube, _inputs: cube.apply(lambda x: x > value)


def scale_to_byte(low: float, high: float) -> Step:
    """Step: linear stretch of [low, high] to [0, 255] (for 8-bit products)."""
    return lambda cube, _inputs: cube.linear_scale_range(low, high, 0, 255)


def smooth(size: int = 3) -> Step:
    """Step: ``size`` x ``size`` moving average (``apply_kernel``), ``size`` odd."""
    if size < 1 or size % 2 == 0:
        raise ProcessParameterInvalid("The smoothing window must be an odd number of pixels.")
    kernel = [[1] * size for _ in range(size)]
    return lambda cube, _inputs: cube.process("apply_kernel", data=cube, kernel=kernel,
                                              factor=1 / size ** 2, border=0, replace_invalid=0)


def _bbox_polygon(extent: dict[str, float]) -> dict[str, Any]:
    w, s, e, n = extent["west"], extent["south"], extent["east"], extent["north"]
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


RECIPES: dict[str, Recipe] = {
    "true_colour": Recipe("true_colour", "True colour (B04, B03, B02) cloud-free composite", "rgb",
                          _colour(("red", "green", "blue")), range=(0, 3000),
                          description="Red, green, blue; per-pixel {reducer} of cloud-masked observations.",
                          needs=("red", "green", "blue")),
    "false_colour": Recipe("false_colour", "False colour (NIR, red, green) composite", "rgb",
                           _colour(("nir", "red", "green")), range=(0, 5000),
                           description="Vegetation in red; per-pixel {reducer} of cloud-masked observations.",
                           needs=("nir", "red", "green")),
    **{index.name: _index_recipe(index) for index in INDICES.values()},
    "ndvi_timeseries": Recipe("ndvi_timeseries", "NDVI time series over the AOI (chart)", "timeseries",
                              _timeseries, description="Mean NDVI of the AOI per observation date.",
                              needs=("nir", "red")),
    "ndvi_change": Recipe("ndvi_change", "NDVI change between two periods (difference map)", "change",
                          _change, cmap="RdBu", range=(-0.5, 0.5),
                          description="{reducer} NDVI of the second period minus the first.",
                          needs=("nir", "red")),
    "s1_backscatter": Recipe("s1_backscatter", "Sentinel-1 backscatter composite (VV, VH in dB)",
                             "backscatter", _backscatter, cmap="gray", range=(-25.0, 0.0),
                             description="Mean linear backscatter over time, converted to dB."),
    "bands": Recipe("bands", "Bands — any 1 band (colour map) or 3 bands (RGB)", "bands", _band_view,
                    description="The chosen band(s), per-pixel {reducer} over the time range; stretched "
                                "to the 2–98 % of the preview."),
    "expression": Recipe("expression", "Band math — your own formula over band names", "expression",
                         _expression,
                         description="Your formula per observation, then the per-pixel {reducer} over time."),
}


def recipe(recipe_id: str) -> Recipe:
    """A recipe by id (clear openEO error for unknown ids)."""
    try:
        return RECIPES[recipe_id]
    except KeyError:
        raise ProcessParameterInvalid(
            f"Unknown recipe {recipe_id!r}; known: {', '.join(RECIPES)}.") from None


def unavailable_reason(r: Recipe, meta: dict[str, Any]) -> str | None:
    """Why ``r`` does not fit the collection (None when it does)."""
    names = band_names(meta)
    if r.kind == "expression":
        return None
    if r.kind == "bands":
        return None if names else "the collection lists no bands"
    if r.kind == "backscatter":
        return None if not names or set(names) & {"VV", "VH"} else "needs Sentinel-1 VV/VH bands"
    if names and "VV" in names:
        return "radar collection (VV/VH): no optical bands"
    missing = []
    for common in r.needs:
        try:
            resolve_band(meta, common)
        except ProcessParameterInvalid:
            missing.append(common)
    return f"no {' / '.join(missing)} band" if missing else None


def recipe_availability(meta: dict[str, Any]) -> list[tuple[Recipe, str | None]]:
    """Every recipe with the reason it does not fit the collection (None: available)."""
    return [(r, unavailable_reason(r, meta)) for r in RECIPES.values()]


def recipes_for(meta: dict[str, Any]) -> list[Recipe]:
    """The recipes that the collection's bands support (always at least the formula recipe)."""
    return [r for r, reason in recipe_availability(meta) if reason is None]


def with_options(inputs: RecipeInputs, **changes: Any) -> RecipeInputs:
    """A copy of ``inputs`` with some fields changed."""
    return replace(inputs, **changes)
