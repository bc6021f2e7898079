"""Representative graphs (the widget recipes and more) for the golden code-generation tests.

Each recipe returns ``(document, to_python keyword arguments)``. Regenerate the golden files
with ``python -m tests.graph.recipes`` and review the diff before committing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from jupyter_eo.graph.builder import GraphBuilder, Param, call

GOLDEN = Path(__file__).parent / "golden"
AOI = {"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27}
SUMMER = ["2023-06-01", "2023-09-01"]
FIELDS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "field-a"},
     "geometry": {"type": "Polygon", "coordinates": [[[5.07, 51.22], [5.09, 51.22], [5.09, 51.24], [5.07, 51.22]]]}},
    {"type": "Feature", "properties": {"name": "field-b"},
     "geometry": {"type": "Polygon", "coordinates": [[[5.11, 51.23], [5.13, 51.23], [5.13, 51.25], [5.11, 51.23]]]}},
]}
UDF_CODE = '''import xarray


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube.rolling(t=3, min_periods=1).mean()
'''
SCALE_UDF = '''import xarray


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * context.get("factor", 1)
'''
RECIPES: dict[str, Callable[[], tuple[Any, dict[str, Any]]]] = {}


def recipe(func: Callable[[], Any]) -> Callable[[], Any]:
    def wrapped() -> tuple[Any, dict[str, Any]]:
        result = func()
        return result if isinstance(result, tuple) else (result, {})
    RECIPES[func.__name__] = wrapped
    return func


def s2(bands: list[str], temporal: list[str] | None = None, **kwargs: Any) -> Any:
    return GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=temporal or SUMMER,
                                          bands=bands, **kwargs)


@recipe
def true_colour() -> Any:
    cube = s2(["B04", "B03", "B02"], max_cloud_cover=20).reduce_time("median")
    return cube.linear_scale_range(0, 3000, 0, 255).save_result("PNG").to_dict()


@recipe
def false_colour() -> Any:
    cube = s2(["B08", "B04", "B03"]).reduce_time("median")
    return cube.linear_scale_range(0, 5000, 0, 255).save_result("PNG").to_dict()


@recipe
def ndvi_process() -> Any:
    return s2(["B04", "B08"]).ndvi(nir="B08", red="B04").reduce_time("max").save_result("GTiff").to_dict()


@recipe
def ndvi_band_math() -> Any:
    return s2(["B04", "B08"]).band_math("(B08 - B04) / (B08 + B04)").to_dict()


@recipe
def ndwi_scaled() -> Any:
    return s2(["B03", "B08"]).spectral_index("NDWI", scale=0.0001).reduce_time("median").to_dict()


@recipe
def nbr_scaled() -> Any:
    return s2(["B08", "B12"]).spectral_index("NBR", scale=0.0001).save_result("netCDF").to_dict()


@recipe
def evi_scaled() -> Any:
    return s2(["B02", "B04", "B08"]).spectral_index("EVI", scale=0.0001).reduce_time("mean").to_dict()


@recipe
def savi_scaled() -> Any:
    return s2(["B04", "B08"]).spectral_index("SAVI", scale=0.0001).to_dict()


@recipe
def cloud_masked_median() -> Any:
    cube = s2(["B02", "B03", "B04", "SCL"], max_cloud_cover=60).mask_scl()
    return cube.filter_bands(["B04", "B03", "B02"]).reduce_time("median").save_result("GTiff").to_dict()


@recipe
def cloud_mask_separate_scl() -> Any:
    b = GraphBuilder()
    reflectance = b.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=SUMMER,
                                    bands=["B04", "B08"])
    scl = b.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=SUMMER, bands=["SCL"])
    return reflectance.mask_scl(scl=scl).ndvi(nir="B08", red="B04").reduce_time("median").to_dict()


@recipe
def ndvi_timeseries() -> Any:
    cube = s2(["B04", "B08", "SCL"], ["2023-01-01", "2024-01-01"]).mask_scl().ndvi(nir="B08", red="B04")
    return cube.aggregate_spatial(FIELDS, "mean").save_result("JSON").to_dict()


@recipe
def monthly_composite() -> Any:
    cube = s2(["B04", "B08"], ["2023-01-01", "2024-01-01"]).ndvi(nir="B08", red="B04")
    return cube.aggregate_temporal_period("month", "median").save_result("netCDF").to_dict()


@recipe
def change_two_periods() -> Any:
    b = GraphBuilder()
    before = b.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=["2022-06-01", "2022-09-01"],
                               bands=["B04", "B08"]).ndvi(nir="B08", red="B04").reduce_time("median")
    after = b.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=["2023-06-01", "2023-09-01"],
                              bands=["B04", "B08"]).ndvi(nir="B08", red="B04").reduce_time("median")
    return after.subtract(before).save_result("GTiff").to_dict()


@recipe
def change_filter_temporal() -> Any:
    cube = s2(["B08", "B12"], ["2022-01-01", "2024-01-01"]).spectral_index("NBR")
    before = cube.filter_temporal("2022-06-01", "2022-09-01").reduce_time("mean")
    after = cube.filter_temporal("2023-06-01", "2023-09-01").reduce_time("mean")
    return before.merge_cubes(after, overlap_resolver=lambda x, y: x - y).to_dict()


@recipe
def s1_backscatter_db() -> Any:
    cube = GraphBuilder().load_collection("SENTINEL1_GRD", spatial_extent=AOI, temporal_extent=SUMMER,
                                          bands=["VV", "VH"])
    return cube.to_db().reduce_time("mean").save_result("GTiff").to_dict()


@recipe
def s1_cross_ratio() -> Any:
    cube = GraphBuilder().load_collection("SENTINEL1_GRD", spatial_extent=AOI, temporal_extent=SUMMER,
                                          bands=["VV", "VH"])
    return cube.reduce_time("median").band_math("VH / VV").to_dict()


@recipe
def udp_with_parameters() -> Any:
    cube = GraphBuilder().load_collection("SENTINEL2_L2A", spatial_extent=Param("spatial_extent"),
                                          temporal_extent=Param("temporal_extent"), bands=["B04", "B08"])
    graph = cube.ndvi(nir="B08", red="B04").reduce_time("median").apply(
        lambda x: x * Param("scale")).to_dict()
    document = {
        "id": "ndvi_composite", "summary": "Median NDVI composite",
        "parameters": [
            {"name": "spatial_extent", "description": "Area of interest (bounding box or GeoJSON)",
             "schema": [{"type": "object", "subtype": "bounding-box"}, {"type": "object", "subtype": "geojson"}]},
            {"name": "temporal_extent", "description": "Time range",
             "schema": {"type": "array", "subtype": "temporal-interval"}},
            {"name": "scale", "description": "Scale factor", "schema": {"type": "number"}, "default": 1,
             "optional": True},
        ],
        "process_graph": graph,
    }
    return document, {"udp_id": "ndvi_composite"}


@recipe
def nested_callbacks() -> Any:
    def reducer(data: Any) -> Any:
        scaled = data.array_apply(process=lambda x: x * 0.0001)
        valid = scaled.array_filter(condition=lambda x: x > 0)
        return valid.mean() + valid.sd()
    return s2(["B08"]).reduce_time(reducer).to_dict()


@recipe
def merge_max_resolver() -> Any:
    b = GraphBuilder()
    s2a = b.load_collection("SENTINEL2_L2A", spatial_extent=AOI, temporal_extent=SUMMER, bands=["B04", "B08"])
    landsat = b.load_collection("LANDSAT8_L2", spatial_extent=AOI, temporal_extent=SUMMER, bands=["B04", "B05"])
    ndvi_s2 = s2a.ndvi(nir="B08", red="B04", target_band="NDVI")
    ndvi_l8 = landsat.ndvi(nir="B05", red="B04", target_band="NDVI").resample_cube_spatial(ndvi_s2)
    return ndvi_s2.merge_cubes(ndvi_l8, overlap_resolver="max").to_dict()


@recipe
def aggregate_spatial_polygon() -> Any:
    polygon = FIELDS["features"][0]["geometry"]
    cube = s2(["B04", "B08"]).ndvi(nir="B08", red="B04")
    return cube.aggregate_spatial(polygon, lambda data: data.median(ignore_nodata=False)).to_dict()


@recipe
def run_udf_timeseries() -> Any:
    return s2(["B04", "B08"]).run_udf(UDF_CODE, dimension="t").to_dict()


@recipe
def run_udf_pixelwise_context() -> Any:
    return s2(["B04"]).run_udf(SCALE_UDF, runtime="Python", version="3.11", context={"factor": 3}).to_dict()


@recipe
def fallback_process() -> Any:
    kernel = [[1, 1, 1], [1, 2, 1], [1, 1, 1]]
    return s2(["B08"]).process("apply_kernel", data=s2(["B08"]), kernel=kernel, factor=0.1).to_dict()


@recipe
def load_stac_filters() -> Any:
    cube = GraphBuilder().load_stac("https://example.com/catalog/collection.json", bands=["red", "nir"])
    cube = cube.filter_bbox(**AOI, crs=4326).filter_temporal("2023-06-01", "2023-07-01")
    return cube.resample_spatial(20, projection=32631, method="bilinear").to_dict()


@recipe
def properties_filter() -> Any:
    cube = s2(["B04"], properties={"platform": lambda value: value == "sentinel-2a",
                                   "eo:cloud_cover": lambda value: value.between(min=0, max=30)})
    return cube.reduce_time("median").to_dict()


@recipe
def function_style_processes() -> Any:
    return s2(["B04"]).apply(lambda x: call("power", base=2, p=x) * call("pi")).to_dict()


@recipe
def portable_ndvi() -> Any:
    graph = s2(["B04", "B08"]).ndvi(nir="B08", red="B04").reduce_time("median").save_result("GTiff").to_dict()
    return graph, {"flavour": "portable", "url": "https://openeo.dataspace.copernicus.eu"}


def regenerate() -> None:
    """Rewrite golden inputs (.json) and expected code (.py)."""
    from jupyter_eo.graph.codegen import to_python
    GOLDEN.mkdir(exist_ok=True)
    for name, make in RECIPES.items():
        document, options = make()
        (GOLDEN / f"{name}.json").write_text(json.dumps({"options": options, "graph": document}, indent=2) + "\n")
        (GOLDEN / f"{name}.py").write_text(to_python(document, **options))


if __name__ == "__main__":
    regenerate()
