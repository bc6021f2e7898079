import jupyter_eo
from openeo.api.process import Parameter

connection = jupyter_eo.connect("local")

spatial_extent = Parameter(
    name="spatial_extent",
    description="Area of interest (bounding box or GeoJSON)",
    schema=[
        {"type": "object", "subtype": "bounding-box"},
        {"type": "object", "subtype": "geojson"},
    ],
)
temporal_extent = Parameter(
    name="temporal_extent",
    description="Time range",
    schema={"type": "array", "subtype": "temporal-interval"},
)
scale = Parameter(
    name="scale",
    description="Scale factor",
    schema={"type": "number"},
    default=1,
    optional=True,
)

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent=spatial_extent,
    temporal_extent=temporal_extent,
    bands=["B04", "B08"],
)
cube = cube.ndvi(nir="B08", red="B04")
cube = cube.reduce_dimension(dimension="t", reducer="median")
cube = cube.apply(lambda x: x * scale)

connection.save_user_defined_process(
    "ndvi_composite",
    cube,
    parameters=[spatial_extent, temporal_extent, scale],
    summary="Median NDVI composite",
)
