import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B08"],
)

def reducer(data):
    array_apply = data.array_apply(process=lambda x: x * 0.0001)
    array_filter = array_apply.array_filter(condition=lambda x: x > 0)
    return array_filter.mean() + array_filter.sd()

cube = cube.reduce_dimension(dimension="t", reducer=reducer)
