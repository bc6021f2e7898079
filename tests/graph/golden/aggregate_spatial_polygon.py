import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B04", "B08"],
)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.aggregate_spatial(
    geometries={
        "type": "Polygon",
        "coordinates": [[[5.07, 51.22], [5.09, 51.22], [5.09, 51.24], [5.07, 51.22]]],
    },
    reducer=lambda data: data.median(ignore_nodata=False),
)
