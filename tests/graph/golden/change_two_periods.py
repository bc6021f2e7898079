import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.reduce_dimension(dimension="t", reducer="median")
sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2022-06-01", "2022-09-01"],
    bands=["B04", "B08"],
)
ndvi_cube = sentinel2_l2a.ndvi(nir="B08", red="B04")
other = ndvi_cube.reduce_dimension(dimension="t", reducer="median")
cube = cube.merge_cubes(other, overlap_resolver="subtract")
cube = cube.save_result(format="GTiff")
