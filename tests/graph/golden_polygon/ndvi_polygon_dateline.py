import openeo

connection = openeo.connect("https://openeo.dataspace.copernicus.eu").authenticate_oidc()

sentinel2_l2a = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={
        "type": "MultiPolygon",
        "coordinates": [
            [
                [
                    [179.6, -17.2], [180.0, -16.72], [180.0, -17.15], [179.6, -17.2],
                ],
            ],
            [
                [
                    [-179.9, -16.6], [-179.6, -17.1], [-180.0, -17.15],
                    [-180.0, -16.72], [-179.9, -16.6],
                ],
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
