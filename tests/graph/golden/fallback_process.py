import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B08"],
)
cube = cube.process(
    "apply_kernel",
    data=cube,
    factor=0.1,
    kernel=[[1, 1, 1], [1, 2, 1], [1, 1, 1]],
)
