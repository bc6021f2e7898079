import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B08", "B12"],
)
b08 = cube.band("B08")
b08_scaled = b08 * 0.0001
b12 = cube.band("B12")
b12_scaled = b12 * 0.0001
cube = (b08_scaled - b12_scaled) / (b08_scaled + b12_scaled)
cube = cube.save_result(format="netCDF")
