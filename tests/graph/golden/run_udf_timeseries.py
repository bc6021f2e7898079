import jupyter_eo
import openeo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
udf_code = """import xarray


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube.rolling(t=3, min_periods=1).mean()
"""
cube = cube.apply_dimension(
    process=openeo.UDF(udf_code, runtime="Python"),
    dimension="t",
)
