import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B03", "B08"],
)
b03 = cube.band("B03")
b03_scaled = b03 * 0.0001
b08 = cube.band("B08")
b08_scaled = b08 * 0.0001
cube = (b03_scaled - b08_scaled) / (b03_scaled + b08_scaled)
cube = cube.reduce_dimension(dimension="t", reducer="median")
