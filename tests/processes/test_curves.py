"""fit_curve / predict_curve through the engine: harmonic seasonal fits on synthetic cubes."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import jupyter_eo.backend.engine as engine
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.processes.curves import ModelFunction, seconds_since_epoch, x_values
from jupyter_eo.backend.processes.curves_solver import fit_series
from jupyter_eo.errors import OpenEOError

YEAR = 31_557_600.0  # seconds in a Julian year: x of temporal labels is epoch seconds
DATES = pd.date_range("2019-01-03", periods=60, freq="12D")
NY, NX = 12, 15


def _p(name: str) -> dict:
    return {"from_parameter": name}


def _n(node: str) -> dict:
    return {"from_node": node}


def _element(i: int) -> dict:
    return {"process_id": "array_element", "arguments": {"data": _p("parameters"), "index": i}}


# a0 + a1*cos(2*pi*x/T) + a2*sin(2*pi*x/T), written as an openEO process graph
HARMONIC = {"process_graph": {
    "w": {"process_id": "multiply", "arguments": {"x": _p("x"), "y": 2 * math.pi / YEAR}},
    "c": {"process_id": "cos", "arguments": {"x": _n("w")}},
    "s": {"process_id": "sin", "arguments": {"x": _n("w")}},
    "a0": _element(0), "a1": _element(1), "a2": _element(2),
    "m1": {"process_id": "multiply", "arguments": {"x": _n("a1"), "y": _n("c")}},
    "m2": {"process_id": "multiply", "arguments": {"x": _n("a2"), "y": _n("s")}},
    "s1": {"process_id": "add", "arguments": {"x": _n("a0"), "y": _n("m1")}},
    "r": {"process_id": "add", "arguments": {"x": _n("s1"), "y": _n("m2")}, "result": True}}}


def _harmonic(params: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    w = 2 * np.pi * seconds / YEAR
    return (params[0][..., None] + params[1][..., None] * np.cos(w)
            + params[2][..., None] * np.sin(w))


def _truth(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(0.2, 0.6, (NY, NX)), rng.uniform(-0.3, 0.3, (NY, NX)),
                     rng.uniform(-0.3, 0.3, (NY, NX))])


def _cube(truth: np.ndarray, noise: float = 0.01, missing: float = 0.25,
          seed: int = 4) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    values = _harmonic(truth, seconds_since_epoch(DATES.values))        # (y, x, t)
    values = np.moveaxis(values, -1, 0) + rng.normal(0, noise, (len(DATES), NY, NX))
    values[rng.random(values.shape) < missing] = np.nan
    values[:, 0, 0] = np.nan                                             # a pixel without data
    values[:-2, 1, 1] = np.nan                                           # too few values to fit
    cube = xr.DataArray(values[:, None].astype("float32"), dims=("t", "bands", "y", "x"),
                        coords={"t": DATES, "bands": ["ndvi"],
                                "y": 5_000_000 - 5.0 - 10.0 * np.arange(NY),
                                "x": 400_000 + 5.0 + 10.0 * np.arange(NX)})
    return set_crs(cube, "EPSG:32633")


def _fit_node(data: dict, ignore_nodata: bool | None = None, target: str | None = None) -> dict:
    args = {"data": _p("data"), "parameters": [0, 0, 0], "function": HARMONIC}
    if ignore_nodata is not None:
        args["ignore_nodata"] = ignore_nodata
    return {"process_id": "apply_dimension", "arguments": {
        "data": data, "dimension": "t", **({"target_dimension": target} if target else {}),
        "process": {"process_graph": {"f": {"process_id": "fit_curve", "arguments": args,
                                            "result": True}}}}}


def _run(graph: dict, cube: xr.DataArray) -> xr.DataArray:
    return engine.evaluate(graph, engine.EvalContext(), parameters={"data": cube})


def _fit(cube: xr.DataArray, **kwargs) -> xr.DataArray:
    return _run({"fit": {**_fit_node(_p("data"), **kwargs), "result": True}}, cube)


def test_harmonic_fit_recovers_known_parameters() -> None:
    truth = _truth()
    fitted = _fit(_cube(truth))
    assert fitted.dims == ("t", "bands", "y", "x")
    assert fitted.sizes["t"] == 3 and fitted["t"].values.tolist() == [0, 1, 2]
    got = fitted.isel(bands=0).values                                     # (3, y, x)
    usable = np.ones((NY, NX), bool)
    usable[0, 0] = usable[1, 1] = False
    err = np.abs(got[:, usable] - truth[:, usable])
    assert err.max() < 0.02, err.max()                                   # noise sd is 0.01
    assert np.isnan(got[:, 0, 0]).all()                                  # no data: null params
    assert np.isnan(got[:, 1, 1]).all()                                  # 2 values < 3 params


def test_lazy_chunked_cube_gives_the_same_fit_and_stays_lazy() -> None:
    cube = _cube(_truth())
    eager = _fit(cube)
    lazy = _fit(cube.chunk({"t": 1, "y": 5, "x": 4}))
    assert lazy.chunks is not None                                       # nothing computed yet
    np.testing.assert_allclose(lazy.compute().values, eager.values, rtol=1e-9, atol=1e-12,
                               equal_nan=True)


def test_nodata_is_ignored_per_pixel() -> None:
    truth = _truth()
    clean = _cube(truth, missing=0.0, seed=9)
    holes = clean.copy()
    holes.values[::3, :, 2:6, 3:9] = np.nan                              # every 3rd date
    keep = np.ones(len(DATES), bool)
    keep[::3] = False
    a = _fit(holes).isel(bands=0).values[:, 2:6, 3:9]
    b = _fit(clean.isel(t=keep)).isel(bands=0).values[:, 2:6, 3:9]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_ignore_nodata_false_gives_null_where_data_is_missing() -> None:
    truth = _truth()
    cube = _cube(truth, missing=0.0)
    cube.values[5, :, 3, 4] = np.nan
    got = _fit(cube, ignore_nodata=False).isel(bands=0).values
    assert np.isnan(got[:, 3, 4]).all()
    assert np.abs(got[:, 5, 6] - truth[:, 5, 6]).max() < 0.02


def test_predict_curve_reproduces_the_model_at_new_dates() -> None:
    truth = _truth()
    labels = ["2020-02-10", "2020-08-01T12:00:00Z", "2021-03-05T00:00:00+02:00"]
    graph = {"fit": _fit_node(_p("data")),
             "pred": {"process_id": "predict_curve", "arguments": {
                 "parameters": _n("fit"), "function": HARMONIC, "dimension": "t",
                 "labels": labels}, "result": True}}
    cube = _cube(truth, noise=0.0)
    pred = _run(graph, cube.chunk({"t": 1, "y": 6, "x": 8}))
    assert pred.dims == ("t", "bands", "y", "x") and pred.chunks is not None
    assert [str(t)[:19] for t in pred["t"].values] == [
        "2020-02-10T00:00:00", "2020-08-01T12:00:00", "2021-03-04T22:00:00"]
    assert pred.rio.crs.to_epsg() == 32633
    want = _harmonic(truth, seconds_since_epoch(labels))                  # (y, x, 3)
    got = np.moveaxis(pred.isel(bands=0).values, 0, -1)
    ok = np.isfinite(got[..., 0])
    assert not ok[0, 0] and not ok[1, 1] and ok.sum() == NY * NX - 2
    np.testing.assert_allclose(got[ok], want[ok], atol=1e-4)


def test_predict_curve_with_named_parameter_dimension_and_numeric_labels() -> None:
    rng = np.random.default_rng(0)
    xs = np.linspace(0, 4, 25)
    a, b = rng.uniform(1, 2, (3, 4)), rng.uniform(0.3, 1.5, (3, 4))
    values = a[None] * np.exp(-b[None] * xs[:, None, None]) + rng.normal(0, 1e-3, (25, 3, 4))
    cube = xr.DataArray(values, dims=("d", "y", "x"),
                        coords={"d": xs, "y": [3.0, 2.0, 1.0], "x": [0.0, 1.0, 2.0, 3.0]})
    decay = {"process_graph": {
        "a": _element(0), "b": _element(1),
        "bx": {"process_id": "multiply", "arguments": {"x": _n("b"), "y": _p("x")}},
        "neg": {"process_id": "multiply", "arguments": {"x": _n("bx"), "y": -1}},
        "e": {"process_id": "exp", "arguments": {"p": _n("neg")}},
        "r": {"process_id": "multiply", "arguments": {"x": _n("a"), "y": _n("e")},
              "result": True}}}
    fit = {"process_id": "apply_dimension", "arguments": {
        "data": _p("data"), "dimension": "d", "target_dimension": "coefficients",
        "process": {"process_graph": {"f": {"process_id": "fit_curve", "arguments": {
            "data": _p("data"), "parameters": [1, 1], "function": decay}, "result": True}}}}}
    graph = {"fit": fit, "pred": {"process_id": "predict_curve", "arguments": {
        "parameters": _n("fit"), "function": decay, "dimension": "d", "labels": [0.5, 10]},
        "result": True}}
    pred = _run(graph, cube)
    assert pred.dims == ("d", "y", "x") and pred["d"].values.tolist() == [0.5, 10]
    want = a[None] * np.exp(-b[None] * np.array([0.5, 10])[:, None, None])
    np.testing.assert_allclose(pred.values, want, rtol=1e-2, atol=1e-4)


def test_fit_curve_on_plain_arrays_uses_labels_or_indices() -> None:
    from procs_testlib import call_process

    def line(x: xr.DataArray, parameters: xr.DataArray) -> xr.DataArray:
        return parameters.isel(__array__=0) + parameters.isel(__array__=1) * x

    got = call_process("fit_curve", {"data": [1.0, 3.0, None, 7.0], "parameters": [0, 0],
                                     "function": line})
    assert got == pytest.approx([1.0, 2.0], abs=1e-8)
    labeled = xr.DataArray([[2.0, 4.0, 8.0]], dims=("p", "__array__"),
                           coords={"__array__": [1.0, 2.0, 4.0]})
    fitted = call_process("fit_curve", {"data": labeled, "parameters": [1, 1],
                                        "function": line})
    assert fitted.dims == ("p", "__array__")
    np.testing.assert_allclose(fitted.values, [[0.0, 2.0]], atol=1e-8)


@pytest.mark.parametrize("args, match", [
    ({"parameters": []}, "parameters"),
    ({"parameters": ["a"]}, "parameters"),
    ({"ignore_nodata": "yes"}, "ignore_nodata"),
])
def test_fit_curve_rejects_bad_arguments(args: dict, match: str) -> None:
    node = _fit_node(_p("data"))
    inner = node["arguments"]["process"]["process_graph"]["f"]["arguments"]
    inner.update(args)
    with pytest.raises(OpenEOError, match=match):
        _run({"fit": {**node, "result": True}}, _cube(_truth()))


def test_fit_curve_on_a_cube_directly_is_a_clear_error() -> None:
    graph = {"f": {"process_id": "fit_curve", "arguments": {
        "data": _p("data"), "parameters": [0, 0, 0], "function": HARMONIC}, "result": True}}
    with pytest.raises(OpenEOError, match="apply_dimension"):
        _run(graph, _cube(_truth()))


def test_predict_curve_needs_labels() -> None:
    graph = {"fit": _fit_node(_p("data")),
             "pred": {"process_id": "predict_curve", "arguments": {
                 "parameters": _n("fit"), "function": HARMONIC, "dimension": "t"},
                 "result": True}}
    with pytest.raises(OpenEOError, match="labels"):
        _run(graph, _cube(_truth()))


def test_x_values_of_labels() -> None:
    assert x_values(np.array(["1970-01-02"], dtype="datetime64[ns]")).tolist() == [86400.0]
    assert x_values(["1970-01-01T01:00:00Z", "1970-01-01T02:00:00+01:00"]).tolist() == [
        3600.0, 3600.0]
    assert x_values([1, 2.5]).tolist() == [1.0, 2.5]
    with pytest.raises(OpenEOError):
        x_values(["B04", "B08"])


def test_model_function_with_a_user_defined_process_survives_pickling() -> None:
    from jupyter_eo.backend.engine.context import EvalContext
    from jupyter_eo.backend.engine.evaluator import Callback

    udp = {"id": "harmonic", "parameters": [{"name": "x"}, {"name": "parameters"}],
           "process_graph": HARMONIC["process_graph"]}
    graph = {"u": {"process_id": "harmonic", "namespace": "user", "arguments": {
        "x": _p("x"), "parameters": _p("parameters")}, "result": True}}
    ctx = EvalContext(udp_resolver=lambda pid, ns: udp if pid == "harmonic" else None)
    model = pickle.loads(pickle.dumps(ModelFunction(Callback(graph, ctx, {"data": object()}, 0))))
    assert model.outer == {}
    params = xr.DataArray([[0.5, 0.1, -0.2]], dims=("p", "__array__"))
    got = model(x=xr.DataArray([0.0, YEAR / 4], dims=("xs",)), parameters=params)
    np.testing.assert_allclose(got.values, [[0.6, 0.3]], atol=1e-12)


def test_solver_handles_many_series_and_degenerate_rows() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(-1, 1, 30)
    true = rng.normal(0, 1, (5000, 2))
    y = true[:, :1] + true[:, 1:] * x**3 + rng.normal(0, 1e-3, (5000, 30))
    y[0] = np.nan
    y[1, 1:] = np.nan
    got = fit_series(y, np.zeros(2), lambda p: p[..., :1] + p[..., 1:2] * x**3)
    assert np.isnan(got[:2]).all()
    assert np.abs(got[2:] - true[2:]).max() < 5e-3


def test_model_stored_as_user_defined_process_fits_and_predicts() -> None:
    udp = {"id": "harmonic", "parameters": [{"name": "x"}, {"name": "parameters"}],
           "process_graph": HARMONIC["process_graph"]}
    model = {"process_graph": {"u": {"process_id": "harmonic", "namespace": "user",
                                     "arguments": {"x": _p("x"),
                                                   "parameters": _p("parameters")},
                                     "result": True}}}
    fit = _fit_node(_p("data"))
    fit["arguments"]["process"]["process_graph"]["f"]["arguments"]["function"] = model
    graph = {"fit": fit, "pred": {"process_id": "predict_curve", "arguments": {
        "parameters": _n("fit"), "function": model, "dimension": "t",
        "labels": ["2020-05-05"]}, "result": True}}
    ctx = engine.EvalContext(udp_resolver=lambda pid, ns: udp if pid == "harmonic" else None)
    truth = _truth()
    cube = _cube(truth, noise=0.0).chunk({"t": 2, "y": 6})
    pred = engine.evaluate(graph, ctx, parameters={"data": cube}).compute()
    want = _harmonic(truth, seconds_since_epoch(["2020-05-05"]))[..., 0]
    got = pred.isel(t=0, bands=0).values
    ok = np.isfinite(got)
    assert ok.sum() == NY * NX - 2
    np.testing.assert_allclose(got[ok], want[ok], atol=1e-4)


def test_cancelling_the_run_stops_a_lazy_fit() -> None:
    import threading

    cancel = threading.Event()
    ctx = engine.EvalContext(cancel_event=cancel)
    lazy = engine.evaluate({"fit": {**_fit_node(_p("data")), "result": True}}, ctx,
                           parameters={"data": _cube(_truth()).chunk({"y": 4})})
    cancel.set()
    with pytest.raises(OpenEOError) as info:
        lazy.compute()
    assert info.value.code == "Cancelled"


def test_a_model_using_more_parameters_than_given_fails_before_computing() -> None:
    node = _fit_node(_p("data"))
    node["arguments"]["process"]["process_graph"]["f"]["arguments"]["parameters"] = [0, 0]
    with pytest.raises(OpenEOError) as info:
        _run({"fit": {**node, "result": True}}, _cube(_truth()).chunk({"y": 4}))
    assert info.value.code == "ArrayElementNotAvailable"


# --- the openEO processes 1.x cube-level form (what DataCube.fit_curve/predict_curve send) ---

def _legacy_fit(data: dict, **extra) -> dict:
    return {"process_id": "fit_curve", "arguments": {
        "data": data, "parameters": [0, 0, 0], "function": HARMONIC, "dimension": "t", **extra}}


def _legacy_predict(fit: str, **extra) -> dict:
    return {"process_id": "predict_curve", "arguments": {
        "data": _p("data"), "parameters": _n(fit), "function": HARMONIC, "dimension": "t",
        "labels": None, **extra}}


@pytest.mark.parametrize("ignore_nodata", [None, False])
def test_cube_level_fit_curve_equals_the_apply_dimension_form(ignore_nodata) -> None:
    cube = _cube(_truth()).chunk({"t": 7, "y": 5})
    extra = {} if ignore_nodata is None else {"ignore_nodata": ignore_nodata}
    legacy = _run({"f": {**_legacy_fit(_p("data"), **extra), "result": True}}, cube)
    assert legacy.chunks is not None                                     # still lazy
    array_form = _fit(cube, ignore_nodata=ignore_nodata)
    assert legacy.dims == array_form.dims == ("t", "bands", "y", "x")
    assert legacy["t"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(legacy.values, array_form.values)
    assert legacy.rio.crs.to_epsg() == 32633


def test_cube_level_fit_labels_parameters_by_index_even_with_as_many_dates() -> None:
    cube = _cube(_truth(), missing=0.0).isel(t=slice(0, 3))               # 3 dates, 3 params
    legacy = _run({"f": {**_legacy_fit(_p("data")), "result": True}}, cube)
    assert legacy["t"].values.tolist() == [0, 1, 2]


def test_cube_level_predict_curve_without_labels_fills_the_gaps_of_data() -> None:
    truth = _truth()
    cube = _cube(truth, noise=0.0)
    graph = {"fit": _legacy_fit(_p("data")),
             "pred": {**_legacy_predict("fit"), "result": True}}
    filled = _run(graph, cube.chunk({"t": 10, "y": 6}))
    assert filled.dims == cube.dims and filled.chunks is not None
    np.testing.assert_array_equal(filled["t"].values, cube["t"].values)
    assert filled.rio.crs.to_epsg() == 32633
    got, orig = filled.values, cube.values
    valid = np.isfinite(orig)
    np.testing.assert_array_equal(got[valid], orig[valid])              # data kept as is
    labels = [str(t)[:19] for t in cube["t"].values]
    at_dates = _run({"fit": _fit_node(_p("data")), "pred": {
        "process_id": "predict_curve", "arguments": {
            "parameters": _n("fit"), "function": HARMONIC, "dimension": "t", "labels": labels},
        "result": True}}, cube)
    np.testing.assert_allclose(got[~valid], at_dates.values[~valid], rtol=1e-12)
    gaps = ~valid
    gaps[:, :, 0, 0] = gaps[:, :, 1, 1] = False                         # pixels without a fit
    assert gaps.sum() > 100 and np.isfinite(got[gaps]).all()
    want = np.moveaxis(_harmonic(truth, seconds_since_epoch(DATES.values)), -1, 0)[:, None]
    np.testing.assert_allclose(got[gaps], want[gaps], atol=1e-4)


def test_cube_level_predict_curve_with_labels_ignores_data_values() -> None:
    labels = ["2020-02-10", "2021-07-01T06:00:00Z"]
    cube = _cube(_truth())
    legacy = _run({"fit": _legacy_fit(_p("data")),
                   "pred": {**_legacy_predict("fit", labels=labels), "result": True}}, cube)
    plain = _run({"fit": _fit_node(_p("data")), "pred": {
        "process_id": "predict_curve", "arguments": {
            "parameters": _n("fit"), "function": HARMONIC, "dimension": "t", "labels": labels},
        "result": True}}, cube)
    assert legacy.dims == plain.dims
    np.testing.assert_array_equal(legacy["t"].values, plain["t"].values)
    np.testing.assert_array_equal(legacy.values, plain.values)


def test_cube_level_forms_report_bad_dimensions_and_mismatched_cubes() -> None:
    cube = _cube(_truth())
    with pytest.raises(OpenEOError) as info:
        _run({"f": {**_legacy_fit(_p("data"), dimension="time"), "result": True}}, cube)
    assert info.value.code == "DimensionNotAvailable"
    inside = _fit_node(_p("data"))
    inside["arguments"]["process"]["process_graph"]["f"]["arguments"]["dimension"] = "t"
    with pytest.raises(OpenEOError, match="apply_dimension"):
        _run({"f": {**inside, "result": True}}, cube)
    graph = {"fit": _legacy_fit(_p("data")),
             "pred": {**_legacy_predict("fit", dimension="time"), "result": True}}
    with pytest.raises(OpenEOError) as info:
        _run(graph, cube)
    assert info.value.code == "DimensionNotAvailable"
    shifted = {"fit": _legacy_fit(_p("data")),
               "cut": {"process_id": "filter_bbox", "arguments": {"data": _p("data"), "extent": {
                   "west": 400_000, "east": 400_060, "south": 4_999_880, "north": 5_000_000,
                   "crs": "EPSG:32633"}}},
               "pred": {**_legacy_predict("fit", data=_n("cut")), "result": True}}
    with pytest.raises(OpenEOError, match="same labels"):
        _run(shifted, cube)


def test_descriptions_advertise_both_forms_and_the_packaged_json_is_untouched() -> None:
    import json
    from importlib import resources

    from jupyter_eo.specs import process_spec

    by_id = {d["id"]: d for d in engine.process_descriptions()}
    fit = {p["name"]: p for p in by_id["fit_curve"]["parameters"]}
    assert fit["dimension"]["optional"] and fit["dimension"]["default"] is None
    assert {"type": "object", "subtype": "datacube"} in fit["data"]["schema"]
    pred = {p["name"]: p for p in by_id["predict_curve"]["parameters"]}
    assert pred["data"]["optional"] and "labels" in pred
    assert by_id["predict_curve"] == process_spec("predict_curve")
    folder = resources.files("jupyter_eo.specs").joinpath("processes")
    for pid, added in (("fit_curve", "dimension"), ("predict_curve", "data")):
        raw = json.loads(folder.joinpath(f"{pid}.json").read_text("utf-8"))
        assert added not in [p["name"] for p in raw["parameters"]]
        assert [p["name"] for p in by_id[pid]["parameters"]] == [
            p["name"] for p in raw["parameters"]] + [added]
