import jupyter_eo

connection = jupyter_eo.connect("local")

sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={
        "type": "Polygon",
        "coordinates": [
            [
                [5.061, 51.214], [5.092, 51.211], [5.118, 51.226], [5.101, 51.248],
                [5.066, 51.241], [5.061, 51.214],
            ],
        ],
    },
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B08", "B04", "SCL"],
)
scl = sentinel2_l2a.band("SCL")
mask = (scl == 1) | (scl == 3) | (scl == 8) | (scl == 9) | (scl == 10) | (scl == 11)
cube = sentinel2_l2a.mask(mask)
cube = cube.filter_bands(["B08", "B04"])
b08 = cube.band("B08")
b04 = cube.band("B04")
cube = (b08 - b04) / (b08 + b04)
cube = cube.reduce_dimension(dimension="t", reducer="median")
cube = cube.save_result(format="GTiff")
