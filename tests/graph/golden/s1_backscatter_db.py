import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL1_GRD",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["VV", "VH"],
)
cube = cube.apply(lambda x: 10 * x.log(base=10))
cube = cube.reduce_dimension(dimension="t", reducer="mean")
cube = cube.save_result(format="GTiff")
