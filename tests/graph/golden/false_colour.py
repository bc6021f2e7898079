import jupyter_eo

connection = jupyter_eo.connect("local")

cube = connection.load_collection(
    "SENTINEL2_L2A",
    spatial_extent={"west": 5.05, "south": 51.21, "east": 5.15, "north": 51.27},
    temporal_extent=["2023-06-01", "2023-09-01"],
    bands=["B08", "B04", "B03"],
)
cube = cube.reduce_dimension(dimension="t", reducer="median")

def process(x):
    return x.linear_scale_range(inputMin=0, inputMax=5000, outputMin=0, outputMax=255)

cube = cube.apply(process)
cube = cube.save_result(format="PNG")
