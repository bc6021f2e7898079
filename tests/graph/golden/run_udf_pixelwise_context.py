import jupyter_eo
import openeo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04"],
)
udf_code = """import xarray


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * context.get("factor", 1)
"""
cube = cube.apply(
    openeo.UDF(udf_code, runtime="Python", version="3.11", context={"factor": 3}),
)
