import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B02", "B04", "B08"],
)
b08 = cube.band("B08")
b08_scaled = b08 * 0.0001
b04 = cube.band("B04")
b04_scaled = b04 * 0.0001
b02 = cube.band("B02")
numerator = 2.5 * (b08_scaled - b04_scaled)
denominator = b08_scaled + 6 * b04_scaled - 7.5 * (b02 * 0.0001) + 1
cube = numerator / denominator
cube = cube.reduce_dimension(dimension="t", reducer="mean")
