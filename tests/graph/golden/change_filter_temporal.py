import jupyter_eo

connection = jupyter_eo.connect("local")

sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2022-01-01", "2024-01-01"],
    bands=["B08", "B12"],
)
b08 = sentinel2_l2a.band("B08")
b12 = sentinel2_l2a.band("B12")
band_math = (b08 - b12) / (b08 + b12)
cube = band_math.filter_temporal("2022-06-01", "2022-09-01")
cube = cube.reduce_dimension(dimension="t", reducer="mean")
filtered = band_math.filter_temporal("2023-06-01", "2023-09-01")
other = filtered.reduce_dimension(dimension="t", reducer="mean")
cube = cube.merge_cubes(other, overlap_resolver="subtract")
