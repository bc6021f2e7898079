"""The same graphs on an existing dask.distributed cluster give identical results."""
from __future__ import annotations

import numpy as np
import pytest

from jupyter_eo.backend.engine import EvalContext, SaveResult, evaluate, materialize
from jupyter_eo.backend.engine.compute import close_clients

from .conftest import FakeCatalog, FakeCollection, make_cube
from .graphs import NDVI_CALLBACK, load, ndvi_max_graph, reducer, ref


@pytest.fixture(scope="module")
def cluster():
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl:
        yield cl
        close_clients()


GRAPHS = {
    "ndvi_max": ndvi_max_graph(),
    "median_bands": {"l": load(["B02", "B04"]), "r": {"process_id": "reduce_dimension",
                     "arguments": {"data": ref("l"), "dimension": "t",
                                   "reducer": reducer("median")}, "result": True}},
    "general_path": {"l": load(["B04"]), "r": {"process_id": "reduce_dimension", "arguments": {
        "data": ref("l"), "dimension": "t", "reducer": {"process_graph": {
            "m": {"process_id": "mean", "arguments": {"data": {"from_parameter": "data"}}},
            "x": {"process_id": "multiply", "arguments": {"x": {"from_node": "m"}, "y": 2},
                  "result": True}}}}, "result": True}},
    "grouped": {"l": load(["B04", "B08"]), "n": {"process_id": "reduce_dimension",
                     "arguments": {"data": ref("l"), "dimension": "bands",
                                   "reducer": NDVI_CALLBACK}},
                     "a": {"process_id": "aggregate_temporal_period", "arguments": {
                         "data": ref("n"), "period": "dekad", "reducer": reducer("mean")},
                         "result": True}},
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
@pytest.mark.parametrize("chunked", ["numpy", "dask", "dask-fold"])
def test_cluster_matches_local(cluster, name, chunked, monkeypatch):
    from jupyter_eo.backend.engine import plan as plan_module

    if chunked == "dask-fold":
        monkeypatch.setattr(plan_module, "BLOCK_SLAB_BYTES", 1)
    cube = make_cube(nt=5, ny=64, nx=48,
                     chunks={"t": 1, "y": 32} if chunked != "numpy" else None)
    catalog = FakeCatalog(S2=FakeCollection(cube))
    local = materialize(evaluate(GRAPHS[name], EvalContext(catalog=catalog)))
    ctx = EvalContext(catalog=catalog, dask_address=cluster.scheduler_address)
    before = cluster.scheduler.transition_counter
    remote = materialize(evaluate(GRAPHS[name], ctx), ctx)
    assert cluster.scheduler.transition_counter > before  # the cluster did the work
    local = local.data if isinstance(local, SaveResult) else local
    remote = remote.data if isinstance(remote, SaveResult) else remote
    assert remote.dims == local.dims
    np.testing.assert_array_equal(remote.values, local.values)
