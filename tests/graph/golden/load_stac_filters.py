import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.datacube_from_process(
    "load_stac",
    bands=["red", "nir"],
    url="https://example.com/catalog/collection.json",
)
cube = cube.filter_bbox(west=5.05, south=51.21, east=5.15, north=51.27, crs=4326)
cube = cube.filter_temporal("2023-06-01", "2023-07-01")
cube = cube.resample_spatial(resolution=20, projection=32631, method="bilinear")
