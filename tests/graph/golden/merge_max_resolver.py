import jupyter_eo

connection = jupyter_eo.connect("local")

sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
target = sentinel2_l2a.ndvi(nir="B08", red="B04", target_band="NDVI")
landsat8_l2 = connection.load_collection(
    "LANDSAT8_L2",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B05"],
)
ndvi_cube = landsat8_l2.ndvi(nir="B05", red="B04", target_band="NDVI")
other = ndvi_cube.resample_cube_spatial(target)
cube = target.merge_cubes(other, overlap_resolver="max")
