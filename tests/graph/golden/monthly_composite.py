import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-01-01", "2024-01-01"],
    bands=["B04", "B08"],
)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.aggregate_temporal_period(period="month", reducer="median")
cube = cube.save_result(format="netCDF")
