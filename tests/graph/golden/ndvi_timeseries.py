import jupyter_eo

connection = jupyter_eo.connect("local")

sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-01-01", "2024-01-01"],
    bands=["B04", "B08", "SCL"],
)
scl = sentinel2_l2a.band("SCL")
mask = (scl == 1) | (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10) | (scl == 11)
cube = sentinel2_l2a.mask(mask)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.aggregate_spatial(
    geometries={
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "field-a"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[5.07, 51.22], [5.09, 51.22], [5.09, 51.24], [5.07, 51.22]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"name": "field-b"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[5.11, 51.23], [5.13, 51.23], [5.13, 51.25], [5.11, 51.23]]],
                },
            },
        ],
    },
    reducer="mean",
)
cube = cube.save_result(format="JSON")
