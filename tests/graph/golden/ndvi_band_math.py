import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
b08 = cube.band("B08")
b04 = cube.band("B04")
cube = (b08 - b04) / (b08 + b04)
