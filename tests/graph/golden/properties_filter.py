import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04"],
    properties={
        "platform": lambda value: value == "sentinel-2a",
        "eo:cloud_cover": lambda value: value.between(min=0, max=30),
    },
)
cube = cube.reduce_dimension(dimension="t", reducer="median")
