import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["SCL"],
)
scl = sentinel2_l2a.band("SCL")
mask = (scl == 1) | (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10) | (scl == 11)
cube = cube.mask(mask)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.reduce_dimension(dimension="t", reducer="median")
