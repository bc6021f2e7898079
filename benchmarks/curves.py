"""Benchmark fit_curve: a harmonic seasonal fit per pixel through the engine vs. plain numpy lstsq.

Run: ``.venv/bin/python -m benchmarks.curves [--size 512] [--dates 36]``. The model is linear
in its parameters, so ``numpy.linalg.lstsq`` per pixel mask group gives the exact optimum to
compare speed and accuracy against (the engine does not know the model is linear).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd
import xarray as xr

YEAR = 31_557_600.0


def _p(name: str) -> dict:
    return {"from_parameter": name}


def _element(i: int) -> dict:
    return {"process_id": "array_element", "arguments": {"data": _p("parameters"), "index": i}}


HARMONIC = {"process_graph": {
    "w": {"process_id": "multiply", "arguments": {"x": _p("x"), "y": 2 * math.pi / YEAR}},
    "c": {"process_id": "cos", "arguments": {"x": {"from_node": "w"}}},
    "s": {"process_id": "sin", "arguments": {"x": {"from_node": "w"}}},
    "a0": _element(0), "a1": _element(1), "a2": _element(2),
    "m1": {"process_id": "multiply", "arguments": {"x": {"from_node": "a1"},
                                                   "y": {"from_node": "c"}}},
    "m2": {"process_id": "multiply", "arguments": {"x": {"from_node": "a2"},
                                                   "y": {"from_node": "s"}}},
    "s1": {"process_id": "add", "arguments": {"x": {"from_node": "a0"},
                                              "y": {"from_node": "m1"}}},
    "r": {"process_id": "add", "arguments": {"x": {"from_node": "s1"},
                                             "y": {"from_node": "m2"}}, "result": True}}}


def make_cube(size: int, dates: int) -> tuple[xr.DataArray, np.ndarray]:
    rng = np.random.default_rng(0)
    times = pd.date_range("2020-01-01", periods=dates, freq="10D")
    secs = (times.values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
    w = 2 * np.pi * secs.astype(float) / YEAR
    truth = np.stack([rng.uniform(0.2, 0.6, (size, size)), rng.uniform(-.3, .3, (size, size)),
                      rng.uniform(-.3, .3, (size, size))])
    values = (truth[0][None] + truth[1][None] * np.cos(w)[:, None, None]
              + truth[2][None] * np.sin(w)[:, None, None])
    values += rng.normal(0, 0.02, values.shape)
    values[rng.random(values.shape) < 0.2] = np.nan
    cube = xr.DataArray(values.astype("float32"), dims=("t", "y", "x"),
                        coords={"t": times, "y": -np.arange(size) * 10.0,
                                "x": np.arange(size) * 10.0})
    return cube, truth


def fit_engine(cube: xr.DataArray) -> np.ndarray:
    import jupyter_eo.backend.engine as engine

    graph = {"fit": {"process_id": "apply_dimension", "arguments": {
        "data": _p("data"), "dimension": "t", "process": {"process_graph": {"f": {
            "process_id": "fit_curve", "arguments": {
                "data": _p("data"), "parameters": [0, 0, 0], "function": HARMONIC},
            "result": True}}}}, "result": True}}
    out = engine.evaluate(graph, engine.EvalContext(), parameters={"data": cube})
    return out.compute(scheduler="threads").values


def fit_numpy(cube: xr.DataArray) -> np.ndarray:
    """Exact linear least squares per pixel (normal equations over valid samples)."""
    secs = (cube["t"].values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
    w = 2 * np.pi * secs.astype(float) / YEAR
    design = np.stack([np.ones_like(w), np.cos(w), np.sin(w)], axis=1)       # (n, 3)
    y = cube.values.reshape(cube.sizes["t"], -1).T.astype(float)              # (P, n)
    valid = np.isfinite(y)
    a = np.einsum("pn,nk,nl->pkl", valid.astype(float), design, design)
    b = np.einsum("pn,nk->pk", np.where(valid, y, 0.0), design)
    return np.linalg.solve(a, b[..., None])[..., 0].T.reshape(3, cube.sizes["y"],
                                                             cube.sizes["x"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--dates", type=int, default=36)
    args = parser.parse_args()
    cube, truth = make_cube(args.size, args.dates)
    for label, data in (("in-memory", cube),
                        ("dask t=1, 256x256", cube.chunk({"t": 1, "y": 256, "x": 256}))):
        start = time.perf_counter()
        got = fit_engine(data)
        took = time.perf_counter() - start
        print(f"engine fit_curve {label}: {took:.2f} s, "
              f"max |param - truth| = {np.nanmax(np.abs(got - truth)):.4f}")
    start = time.perf_counter()
    exact = fit_numpy(cube)
    took = time.perf_counter() - start
    got = fit_engine(cube)
    print(f"numpy exact linear solve: {took:.2f} s; engine vs exact max diff = "
          f"{np.nanmax(np.abs(got - exact)):.2e}")


if __name__ == "__main__":
    main()
