"""A small fluent builder for openEO process graphs (used by the widgets' recipes).

Usage::

    from jupyter_eo.graph.builder import GraphBuilder

    b = GraphBuilder()
    cube = b.load_collection("SENTINEL2_L2A",
                             spatial_extent={"west": 5.0, "south": 51.0, "east": 5.1, "north": 51.1},
                             temporal_extent=["2023-06-01", "2023-07-01"], bands=["B04", "B08"])
    ndvi = cube.ndvi(nir="B08", red="B04")                  # or cube.band_math("(B08 - B04) / (B08 + B04)")
    graph = ndvi.reduce_dimension("t", "median").save_result("GTiff").to_dict()

``GraphBuilder`` methods start a cube: ``load_collection(collection_id, spatial_extent=None,
temporal_extent=None, bands=None, properties=None, max_cloud_cover=None)``, ``load_stac(url, ...)``,
``process(process_id, namespace=None, **arguments)``;
every ``Cube`` method returns a new ``Cube`` handle, so branches can be combined
(``cube.mask(other)``, ``cube.merge_cubes(other)``, ``cube.subtract(other)``).
``Cube.to_dict()`` returns the flat graph ending at that cube, with the same
deterministic node ids the official ``openeo`` client would produce (``loadcollection1``, ...).

Cube methods: ``filter_bbox(west, south, east, north, crs=None)``, ``filter_temporal(start, end)``,
``filter_bands(bands)``, ``filter_spatial(geometries)``, ``band(name)``,
``band_math(expression)``, ``ndvi(nir=None, red=None, target_band=None)``,
``spectral_index(name, scale=None)`` (names in ``INDEX_FORMULAS``: NDVI, NDWI, NBR, EVI, SAVI, ...),
``reduce_dimension(dimension, reducer, context=None)``, ``reduce_time(reducer="mean")``,
``aggregate_temporal_period(period, reducer="mean", dimension=None)``,
``aggregate_spatial(geometries, reducer="mean")``, ``apply(process)``,
``apply_dimension(process, dimension, target_dimension=None)``, ``mask(mask, replacement=None)``,
``mask_scl(scl=None, scl_band="SCL", classes=SCL_CLOUD_CLASSES)`` (``scl``: another cube holding
the SCL band), ``merge_cubes(other, overlap_resolver=None)``, ``subtract(other)`` (merge with x - y),
``resample_spatial(resolution, projection=None, method="near", align="upper-left")``,
``resample_cube_spatial(target, method="near")``,
``linear_scale_range(input_min, input_max, output_min, output_max)``, ``to_db()``,
``run_udf(udf, dimension=None, runtime="Python", version=None, context=None)``,
``save_result(format="GTiff", options=None)``, ``process(process_id, **arguments)``, ``to_dict()``.

Callbacks (``reducer``, ``process``, ``overlap_resolver``) may be given as:

* a process id string: ``"median"`` (called with the callback's data parameter);
* a Python callable taking ``Expr`` parameters named as in the spec
  (``lambda x: x * 0.0001``, ``lambda data: data.median(ignore_nodata=False)``,
  ``lambda x: x.linear_scale_range(inputMin=0, inputMax=1, outputMin=0, outputMax=255)``);
  ``Expr`` supports ``+ - * / **``, comparisons, ``expr["B08"]`` (``array_element`` by label),
  ``expr[0]`` (by index), ``& | ~`` (and/or/not) and any openEO process as a method with keyword
  arguments (``x.log(base=10)``, ``x.and_(y=other)``; the value becomes the first parameter), or
  ``call(process_id, **args)`` for processes without an ``Expr`` input;
* an openEO callback dict ``{"process_graph": {...}}``;
* an ``Expr`` built beforehand.

``band_math`` accepts a formula string over band names (``"(B08 - B04) / (B08 + B04) * 2.5"``,
functions such as ``sqrt(B08)``, ``log(B08, 10)``, comparisons ``B08 > 0.2``) or a callable
``lambda bands: bands["B08"] - bands["B04"]``. Graph parameters (for UDPs) are
``GraphBuilder.parameter(name)`` / ``Param(name)`` values usable anywhere an argument goes.
Invalid input raises ``ProcessParameterInvalid`` (an openEO error).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.graph.expr import (Expr, Param, _formula, _Node, _flatten, band_math_callback, call, callback,
                                   callback_parameters)
from jupyter_eo.graph.model import FlatGraph, normalize_ids

__all__ = ["GraphBuilder", "Cube", "Expr", "Param", "call", "INDEX_FORMULAS", "SCL_CLOUD_CLASSES",
           "callback", "band_math_callback", "callback_parameters"]

#: Spectral indices as formulas over Sentinel-2 band names (reflectances).
INDEX_FORMULAS: dict[str, str] = {
    "NDVI": "(B08 - B04) / (B08 + B04)",
    "NDWI": "(B03 - B08) / (B03 + B08)",
    "NDMI": "(B08 - B11) / (B08 + B11)",
    "NBR": "(B08 - B12) / (B08 + B12)",
    "NDSI": "(B03 - B11) / (B03 + B11)",
    "EVI": "2.5 * (B08 - B04) / (B08 + 6 * B04 - 7.5 * B02 + 1)",
    "SAVI": "1.5 * (B08 - B04) / (B08 + B04 + 0.5)",
}
#: Sentinel-2 scene classification values treated as invalid: saturated, cloud shadow,
#: cloud medium/high probability, thin cirrus, snow.
SCL_CLOUD_CLASSES: tuple[int, ...] = (1, 3, 8, 9, 10, 11)


class Cube:
    """A handle on one node of a graph under construction (fluent, immutable)."""

    __slots__ = ("_target", "bands")

    def __init__(self, node: _Node, bands: list[str] | None = None) -> None:
        self._target = node
        self.bands = bands

    def _then(self, process_id: str, _bands: list[str] | None = None, **arguments: Any) -> Cube:
        return Cube(_Node(process_id, {"data": self, **arguments}), _bands if _bands is not None else self.bands)

    def process(self, process_id: str, namespace: str | None = None, **arguments: Any) -> Cube:
        """Any process with explicit arguments (cubes, ``Param`` and callbacks dicts allowed)."""
        return Cube(_Node(process_id, dict(arguments), namespace), self.bands)

    # -- filters -------------------------------------------------------------------------
    def filter_bbox(self, west: float | dict | Param, south: float | None = None, east: float | None = None,
                    north: float | None = None, crs: int | str | None = None) -> Cube:
        if isinstance(west, (dict, Param)):
            extent: Any = west
        else:
            extent = {"west": west, "east": east, "north": north, "south": south}
            if crs is not None:
                extent["crs"] = crs
        return self._then("filter_bbox", extent=extent)

    def filter_temporal(self, start: str | None | Param, end: str | None = None) -> Cube:
        extent = start if isinstance(start, Param) else [start, end]
        return self._then("filter_temporal", extent=extent)

    def filter_bands(self, bands: Iterable[str] | Param) -> Cube:
        bands = bands if isinstance(bands, Param) else list(bands)
        return self._then("filter_bands", bands=bands)

    def filter_spatial(self, geometries: dict) -> Cube:
        return self._then("filter_spatial", geometries=geometries)

    # -- band math -----------------------------------------------------------------------
    def band(self, name: str | int) -> Cube:
        """A single band (``reduce_dimension`` over ``bands`` with ``array_element``)."""
        return self.band_math(lambda data: data[name])

    def band_math(self, expression: str | Callable[[Expr], Expr] | Expr, dimension: str = "bands") -> Cube:
        return self._then("reduce_dimension", [], dimension=dimension,
                          reducer=band_math_callback(expression))

    def ndvi(self, nir: str | None = None, red: str | None = None, target_band: str | None = None) -> Cube:
        arguments = {k: v for k, v in (("nir", nir), ("red", red), ("target_band", target_band)) if v is not None}
        bands = (self.bands or []) + [target_band] if target_band else []
        return self._then("ndvi", bands, **arguments)

    def spectral_index(self, name: str, scale: float | None = None) -> Cube:
        """A named index from ``INDEX_FORMULAS``; ``scale`` multiplies each band first (e.g. 0.0001)."""
        formula = INDEX_FORMULAS.get(name.upper())
        if formula is None:
            raise ProcessParameterInvalid(f"Unknown index {name!r}; known: {', '.join(INDEX_FORMULAS)}.")
        if scale is None:
            return self.band_math(formula)

        def scaled(data: Expr) -> Expr:
            view = _ScaledBands(data, scale)
            return _formula(formula, view)  # type: ignore[arg-type]
        return self.band_math(scaled)

    # -- reductions, aggregation ---------------------------------------------------------
    def reduce_dimension(self, dimension: str, reducer: Any, context: Any = None) -> Cube:
        arguments: dict[str, Any] = {"dimension": dimension,
                                     "reducer": callback(reducer, ["data", "context"], process_id="reduce_dimension",
                                                         argument="reducer")}
        if context is not None:
            arguments["context"] = context
        return self._then("reduce_dimension", **arguments)

    def reduce_time(self, reducer: Any = "mean") -> Cube:
        return self.reduce_dimension("t", reducer)

    def aggregate_temporal_period(self, period: str, reducer: Any = "mean", dimension: str | None = None) -> Cube:
        arguments: dict[str, Any] = {"period": period, "reducer": callback(
            reducer, ["data", "context"], process_id="aggregate_temporal_period", argument="reducer")}
        if dimension is not None:
            arguments["dimension"] = dimension
        return self._then("aggregate_temporal_period", **arguments)

    def aggregate_spatial(self, geometries: dict | Param, reducer: Any = "mean") -> Cube:
        return self._then("aggregate_spatial", geometries=geometries, reducer=callback(
            reducer, ["data", "context"], process_id="aggregate_spatial", argument="reducer"))

    # -- pixel-wise ----------------------------------------------------------------------
    def apply(self, process: Any) -> Cube:
        return self._then("apply", process=callback(process, ["x", "context"], process_id="apply", argument="process"))

    def apply_dimension(self, process: Any, dimension: str, target_dimension: str | None = None) -> Cube:
        arguments: dict[str, Any] = {"dimension": dimension, "process": callback(
            process, ["data", "context"], process_id="apply_dimension", argument="process")}
        if target_dimension is not None:
            arguments["target_dimension"] = target_dimension
        return self._then("apply_dimension", **arguments)

    def linear_scale_range(self, input_min: float, input_max: float, output_min: float = 0,
                           output_max: float = 1) -> Cube:
        return self.apply(lambda x: x.linear_scale_range(inputMin=input_min, inputMax=input_max,
                                                         outputMin=output_min, outputMax=output_max))

    def to_db(self) -> Cube:
        """Backscatter to decibels: ``10 * log10(x)``."""
        return self.apply(lambda x: 10 * x.log(base=10))

    def run_udf(self, udf: str, dimension: str | None = None, runtime: str = "Python",
                version: str | None = None, context: dict | None = None) -> Cube:
        """Run UDF code per pixel (``apply``) or along ``dimension`` (``apply_dimension``)."""
        parameter = "x" if dimension is None else "data"
        arguments: dict[str, Any] = {"data": Param(parameter), "udf": udf, "runtime": runtime}
        if version is not None:
            arguments["version"] = version
        if context is not None:
            arguments["context"] = context
        udf_call = call("run_udf", **arguments)
        if dimension is None:
            return self.apply(udf_call)
        return self.apply_dimension(udf_call, dimension=dimension)

    # -- combining -----------------------------------------------------------------------
    def mask(self, mask: Cube, replacement: Any = None) -> Cube:
        arguments: dict[str, Any] = {"mask": mask}
        if replacement is not None:
            arguments["replacement"] = replacement
        return self._then("mask", **arguments)

    def mask_scl(self, scl: Cube | None = None, scl_band: str = "SCL",
                 classes: Sequence[int] = SCL_CLOUD_CLASSES) -> Cube:
        """Mask pixels whose scene classification is one of ``classes`` (clouds, shadows, ...)."""
        source = scl if scl is not None else self

        def is_cloud(data: Expr) -> Expr:
            scl_value = data[scl_band]
            result = scl_value == classes[0]
            for value in classes[1:]:
                result = result.or_(y=scl_value == value)
            return result
        return self.mask(source.band_math(is_cloud))

    def merge_cubes(self, other: Cube, overlap_resolver: Any = None) -> Cube:
        arguments: dict[str, Any] = {"cube1": self, "cube2": other}
        if overlap_resolver is not None:
            arguments["overlap_resolver"] = callback(overlap_resolver, ["x", "y", "context"],
                                                     process_id="merge_cubes", argument="overlap_resolver")
        return Cube(_Node("merge_cubes", arguments), None)

    def subtract(self, other: Cube) -> Cube:
        """Difference of two cubes (``merge_cubes`` with a ``subtract`` overlap resolver)."""
        return self.merge_cubes(other, overlap_resolver=lambda x, y: x - y)

    def resample_spatial(self, resolution: float | list[float] = 0, projection: int | str | None = None,
                         method: str = "near", align: str = "upper-left") -> Cube:
        return self._then("resample_spatial", resolution=resolution, projection=projection, method=method,
                          align=align)

    def resample_cube_spatial(self, target: Cube, method: str = "near") -> Cube:
        """Resample onto the spatial grid of ``target``."""
        return self._then("resample_cube_spatial", target=target, method=method)

    def save_result(self, format: str = "GTiff", options: dict | None = None) -> Cube:
        return self._then("save_result", format=format, options=options or {})

    def to_dict(self) -> FlatGraph:
        """The flat process graph ending at this cube (client-style node ids)."""
        return normalize_ids(_flatten(self._target))


class _ScaledBands:
    """Band access that multiplies every band by a scale factor once (shared node)."""

    def __init__(self, data: Expr, scale: float) -> None:
        self._data, self._scale, self._cache = data, scale, {}

    def __getitem__(self, name: str) -> Expr:
        if name not in self._cache:
            self._cache[name] = self._data[name] * self._scale
        return self._cache[name]


class GraphBuilder:
    """Entry point: starts cubes from collections, STAC or any process."""

    @staticmethod
    def parameter(name: str) -> Param:
        return Param(name)

    def load_collection(self, collection_id: str | Param, spatial_extent: dict | Param | None = None,
                        temporal_extent: Sequence[str | None] | Param | None = None,
                        bands: Sequence[str] | Param | None = None, properties: dict[str, Any] | None = None,
                        max_cloud_cover: float | None = None) -> Cube:
        """``load_collection``; ``properties`` maps property names to callbacks on ``value``."""
        arguments: dict[str, Any] = {"id": collection_id, "spatial_extent": spatial_extent,
                                     "temporal_extent": list(temporal_extent) if isinstance(
                                         temporal_extent, (list, tuple)) else temporal_extent}
        if bands is not None:
            arguments["bands"] = bands if isinstance(bands, Param) else list(bands)
        props = {name: callback(cb, ["value"], argument=name) for name, cb in (properties or {}).items()}
        if max_cloud_cover is not None:
            props["eo:cloud_cover"] = callback(lambda value: value <= max_cloud_cover, ["value"])
        if props:
            arguments["properties"] = props
        return Cube(_Node("load_collection", arguments), list(bands) if isinstance(bands, (list, tuple)) else None)

    def load_stac(self, url: str, spatial_extent: dict | None = None,
                  temporal_extent: Sequence[str | None] | None = None, bands: Sequence[str] | None = None) -> Cube:
        arguments: dict[str, Any] = {"url": url}
        if spatial_extent is not None:
            arguments["spatial_extent"] = spatial_extent
        if temporal_extent is not None:
            arguments["temporal_extent"] = list(temporal_extent)
        if bands is not None:
            arguments["bands"] = list(bands)
        return Cube(_Node("load_stac", arguments), list(bands) if bands else None)

    def process(self, process_id: str, namespace: str | None = None, **arguments: Any) -> Cube:
        """Start from any process (e.g. a UDP: ``process("my_udp", namespace="user", ...)``)."""
        return Cube(_Node(process_id, dict(arguments), namespace))
