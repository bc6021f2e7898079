import openeo

connection = openeo.connect("https://openeo.dataspace.copernicus.eu").authenticate_oidc()

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.reduce_dimension(dimension="t", reducer="median")
cube = cube.save_result(format="GTiff")
