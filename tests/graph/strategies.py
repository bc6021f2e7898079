"""Hypothesis strategies producing random, valid process graphs through the GraphBuilder."""
from __future__ import annotations

import datetime
from typing import Any, Callable

from hypothesis import strategies as st

from jupyter_eo.graph.builder import Cube, Expr, GraphBuilder, Param, call

BANDS = ["B02", "B03", "B04", "B08", "B11", "SCL"]
COLLECTIONS = ["SENTINEL2_L2A", "SENTINEL1_GRD", "LANDSAT8_L2"]
REDUCERS = ["mean", "median", "max", "min", "sum", "sd", "count", "first", "last"]
UNARY = ["absolute", "sqrt", "ln", "exp", "floor", "ceil", "sgn", "cos"]

numbers = st.one_of(st.integers(-1000, 1000),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
dates = st.dates(min_value=datetime.date(2015, 1, 1), max_value=datetime.date(2030, 12, 31)).map(
    lambda d: d.isoformat())
json_scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)), max_leaves=6)


@st.composite
def bboxes(draw: st.DrawFn) -> dict[str, float]:
    west = draw(st.floats(-180, 170, allow_nan=False))
    south = draw(st.floats(-80, 70, allow_nan=False))
    return {"west": west, "south": south, "east": west + draw(st.floats(0.001, 10)),
            "north": south + draw(st.floats(0.001, 10))}


@st.composite
def expressions(draw: st.DrawFn, leaves: list[Expr], depth: int = 3) -> Expr | Any:
    """A random expression over ``leaves`` with shared sub-expressions sometimes."""
    pool: list[Any] = list(leaves)
    for _ in range(draw(st.integers(1, depth + 1))):
        kind = draw(st.sampled_from(["binary", "binary", "unary", "method", "compare", "if", "const_op", "reuse"]))
        a = draw(st.sampled_from(pool))
        if kind == "binary":
            b = draw(st.one_of(st.sampled_from(pool), numbers))
            op = draw(st.sampled_from(["+", "-", "*", "/", "**", "r+", "r-", "r*", "r/"]))
            if isinstance(a, Expr) and not op.startswith("r"):
                value = {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__,
                         "**": a.__pow__}[op](b)
            elif isinstance(a, Expr):
                value = {"r+": a.__radd__, "r-": a.__rsub__, "r*": a.__rmul__, "r/": a.__rtruediv__}[op](b)
            else:
                value = call("add", x=a, y=b)
        elif kind == "unary" and isinstance(a, Expr):
            value = a.process(draw(st.sampled_from(UNARY)))
        elif kind == "method" and isinstance(a, Expr):
            value = draw(st.sampled_from([
                lambda: a.log(base=draw(st.sampled_from([2, 10]))),
                lambda: a.clip(min=draw(numbers), max=draw(numbers)),
                lambda: a.linear_scale_range(inputMin=0, inputMax=draw(numbers), outputMin=0, outputMax=255),
                lambda: a.int(),
                lambda: call("power", base=draw(numbers), p=a),
                lambda: call("max", data=[a, draw(st.sampled_from(pool))]),
                lambda: a.round(p=draw(st.integers(0, 3))),
                lambda: a.array_apply(process=lambda x: x * draw(numbers)),
                lambda: a.array_filter(condition=lambda x: x > draw(numbers)).count(),
                lambda: a.array_apply(process=lambda x, index: x * index),
            ]))()
        elif kind == "compare" and isinstance(a, Expr):
            op = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq"]))
            value = call(op, x=a, y=draw(st.one_of(numbers, st.sampled_from(pool))))
            if draw(st.booleans()):
                value = value.and_(y=call("gt", x=a, y=0)) if draw(st.booleans()) else value.not_()
        elif kind == "if":
            value = call("if", value=call("gt", x=a, y=draw(numbers)), accept=a, reject=draw(numbers))
        elif kind == "const_op":
            value = call(draw(st.sampled_from(["add", "multiply", "subtract", "divide"])), x=draw(numbers), y=a)
        else:
            continue
        pool.append(value)
    exprs = [p for p in pool if isinstance(p, Expr) and not isinstance(p._target, Param)]
    return draw(st.sampled_from(exprs)) if exprs else call("pi")


def callbacks(parameter: str, reducer: bool) -> st.SearchStrategy[Any]:
    """A callback as a process id string, a dict, or a callable building a random expression."""
    @st.composite
    def build(draw: st.DrawFn) -> Any:
        choice = draw(st.integers(0, 3))
        if reducer and choice == 0:
            return draw(st.sampled_from(REDUCERS))
        if reducer and choice == 1:
            name = draw(st.sampled_from(REDUCERS[:6]))
            return lambda data: data.process(name, ignore_nodata=draw(st.booleans()))
        if reducer and choice == 2:
            return lambda data: data.quantiles(probabilities=[0.25, 0.75])[draw(st.integers(0, 1))]
        if reducer:
            return lambda data: draw(expressions([data.mean(), data.max()]))
        if choice == 3:
            return lambda x: draw(expressions([x, x * Param("factor")]))
        return lambda x: draw(expressions([x]))
    return build()


@st.composite
def band_formulas(draw: st.DrawFn, bands: list[str]) -> Callable[[Expr], Expr]:
    def formula(data: Expr) -> Expr:
        leaves = [data[b] for b in draw(st.lists(st.sampled_from(bands), min_size=1, max_size=3))]
        if draw(st.booleans()):
            leaves.append(data[draw(st.integers(0, 2))])
        return draw(expressions(leaves))
    return formula


@st.composite
def sources(draw: st.DrawFn, builder: GraphBuilder) -> Cube:
    bands = draw(st.one_of(st.none(), st.lists(st.sampled_from(BANDS), min_size=1, max_size=4, unique=True)))
    spatial = draw(st.one_of(st.none(), bboxes(), st.just(Param("spatial_extent"))))
    temporal = draw(st.one_of(st.none(), st.tuples(dates, dates).map(sorted),
                              st.tuples(dates, st.none()).map(list), st.just(Param("temporal_extent"))))
    cloud = draw(st.one_of(st.none(), st.integers(0, 100)))
    properties = None
    if cloud is None and draw(st.booleans()):
        properties = {"platform": lambda value: value == draw(st.sampled_from(["sentinel-2a", "sentinel-2b"]))}
    collection = draw(st.sampled_from(COLLECTIONS))
    if draw(st.integers(0, 9)) == 0:
        return builder.process("load_stac", url=f"https://example.com/{collection}.json", bands=bands)
    return builder.load_collection(collection, spatial_extent=spatial, temporal_extent=temporal, bands=bands,
                                   properties=properties, max_cloud_cover=cloud)


@st.composite
def steps(draw: st.DrawFn, cube: Cube, builder: GraphBuilder, depth: int) -> Cube:
    bands = cube.bands or BANDS
    kind = draw(st.sampled_from([
        "filter_bbox", "filter_temporal", "filter_bands", "ndvi", "band_math", "band_math", "reduce", "apply",
        "apply_dimension", "atp", "mask", "merge", "resample", "fallback", "udf", "index", "mask_scl"]))
    if kind == "filter_bbox":
        if draw(st.integers(0, 4)) == 0:
            return cube.filter_bbox(Param("bbox"))
        box = draw(bboxes())
        return cube.filter_bbox(**box, crs=draw(st.sampled_from([None, 4326, "EPSG:3857"])))
    if kind == "filter_temporal":
        if draw(st.integers(0, 4)) == 0:
            return cube.filter_temporal(Param("dates"))
        start, end = sorted(draw(st.tuples(dates, dates)))
        return cube.filter_temporal(start, draw(st.sampled_from([end, None])))
    if kind == "filter_bands":
        return cube.filter_bands(draw(st.lists(st.sampled_from(bands), min_size=1, max_size=3, unique=True)))
    if kind == "ndvi":
        return cube.ndvi(**draw(st.fixed_dictionaries({}, optional={
            "nir": st.sampled_from(bands), "red": st.sampled_from(bands), "target_band": st.just("NDVI")})))
    if kind == "band_math":
        return cube.band_math(draw(band_formulas(bands)))
    if kind == "index":
        return cube.spectral_index(draw(st.sampled_from(["NDVI", "NDWI", "EVI", "SAVI", "NBR"])),
                                   scale=draw(st.sampled_from([None, 0.0001])))
    if kind == "reduce":
        if draw(st.integers(0, 4)) == 0:
            return cube.reduce_dimension("t", lambda data, context: data.mean() * context, context=2.5)
        return cube.reduce_dimension(draw(st.sampled_from(["t", "bands"])), draw(callbacks("data", True)))
    if kind == "apply":
        return cube.apply(draw(callbacks("x", False)))
    if kind == "apply_dimension":
        return cube.apply_dimension(draw(st.sampled_from(["cumsum", "sort", lambda data: data.order()])),
                                    dimension="t")
    if kind == "atp":
        return cube.aggregate_temporal_period(draw(st.sampled_from(["month", "dekad", "season", "year"])),
                                              draw(callbacks("data", True)))
    if kind == "mask":
        if draw(st.booleans()) or depth > 2:
            other = cube
        else:
            other = draw(sources(builder))
        threshold = draw(numbers)
        band = draw(st.sampled_from(bands))
        return cube.mask(other.band_math(lambda data: data[band] > threshold),
                         replacement=draw(st.sampled_from([None, 0, -1.5])))
    if kind == "mask_scl":
        return cube.mask_scl()
    if kind == "merge":
        other = cube if draw(st.booleans()) or depth > 2 else draw(chains(builder, depth + 1))
        resolver = draw(st.sampled_from([None, "max", "mean", "subtract", lambda x, y: (x + y) / 2]))
        return cube.merge_cubes(other, overlap_resolver=resolver)
    if kind == "resample":
        return cube.resample_spatial(draw(st.sampled_from([10, 20, [10, 10]])),
                                     projection=draw(st.sampled_from([None, 3857, "EPSG:32631"])),
                                     method=draw(st.sampled_from(["near", "bilinear"])))
    if kind == "udf":
        code = "def apply_datacube(cube, context):\n    return cube * 2\n"
        return cube.run_udf(code, dimension=draw(st.sampled_from([None, "t", "bands"])),
                            version=draw(st.sampled_from([None, "3.11"])),
                            context=draw(st.sampled_from([None, {"factor": 2}])))
    # fallback: any process with odd arguments
    arguments = draw(st.dictionaries(st.sampled_from(["size", "kernel", "factor", "options", "border"]),
                                     json_values, max_size=3))
    if draw(st.booleans()):
        arguments["threshold"] = Param("threshold")
    return cube.process(draw(st.sampled_from(["apply_kernel", "my_udp", "sar_backscatter", "fancy_thing"])),
                        data=cube, **arguments,
                        **({"namespace": "user"} if draw(st.integers(0, 4)) == 0 else {}))


@st.composite
def chains(draw: st.DrawFn, builder: GraphBuilder, depth: int = 0) -> Cube:
    cube = draw(sources(builder))
    for _ in range(draw(st.integers(0, 5 if depth == 0 else 2))):
        cube = draw(steps(cube, builder, depth))
        if cube._target.process_id == "resample_spatial":
            # without backend metadata the client then only knows x/y dimensions
            break
    return cube


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    """A random flat process graph (ending in save_result or aggregate_spatial sometimes)."""
    builder = GraphBuilder()
    cube = draw(chains(builder))
    end = draw(st.integers(0, 5))
    if end == 0:
        cube = cube.save_result(draw(st.sampled_from(["GTiff", "netCDF", "PNG"])),
                                options=draw(st.sampled_from([None, {"tile_grid": "one_degree"}])))
    elif end == 1:
        polygon = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
        geometries = draw(st.sampled_from([polygon, {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": 1}, "geometry": polygon}]}]))
        cube = cube.aggregate_spatial(geometries, draw(callbacks("data", True)))
        if draw(st.booleans()):
            cube = cube.save_result("JSON")
    return cube.to_dict()
