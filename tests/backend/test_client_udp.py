"""User-defined processes with the official client: save with parameters, use by id, list/describe/delete."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rioxarray
from openeo.api.process import Parameter
from openeo.rest import OpenEoApiError

from backend_testlib import ArrayCollection

BBOX = {"west": 500_100.0, "south": 5_599_600.0, "east": 500_500.0, "north": 5_599_900.0,
        "crs": 32631}
DATES = ["2024-05-05", "2024-05-30"]


def test_udp_round_trip(connection, tmp_path: Path) -> None:
    bbox = Parameter(name="bbox", description="Area", schema={"type": "object",
                                                               "subtype": "bounding-box"})
    dates = Parameter(name="dates", description="Interval",
                      schema={"type": "array", "subtype": "temporal-interval"})
    cube = connection.load_collection("TEST_S2", spatial_extent=bbox, temporal_extent=dates,
                                      bands=["B04", "B08"]).ndvi() \
        .reduce_dimension("t", reducer="max")
    udp = connection.save_user_defined_process("ndvi_max", cube, parameters=[bbox, dates],
                                               summary="NDVI maximum")
    assert [p["id"] for p in connection.list_user_defined_processes()] == ["ndvi_max"]
    described = udp.describe()
    assert described["summary"] == "NDVI maximum"
    assert [p["name"] for p in described["parameters"]] == ["bbox", "dates"]

    used = connection.datacube_from_process("ndvi_max", bbox=BBOX, dates=DATES)
    path = tmp_path / "udp.tif"
    used.download(path, format="GTiff")
    source = ArrayCollection().load(BBOX, DATES, ["B04", "B08"]).astype("float64")
    red, nir = source.sel(bands="B04"), source.sel(bands="B08")
    want = ((nir - red) / (nir + red)).max("t", skipna=True).compute()
    with rioxarray.open_rasterio(path, masked=True) as tif:
        assert tif.shape[1:] == want.shape
        np.testing.assert_allclose(tif.isel(band=0).values, want.values, rtol=1e-6,
                                   equal_nan=True)

    udp.delete()
    assert connection.list_user_defined_processes() == []
    with pytest.raises(OpenEoApiError) as err:
        udp.describe()
    assert err.value.code == "ProcessGraphNotFound"


def test_udp_rejects_predefined_and_bad_ids(connection) -> None:
    graph = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    with pytest.raises(OpenEoApiError) as err:
        connection.save_user_defined_process("ndvi", graph)
    assert err.value.code == "PredefinedProcessExists"
    with pytest.raises(OpenEoApiError) as err:
        connection.put("/process_graphs/bad-id!", json={"process_graph": graph},
                       expected_status=200)
    assert err.value.http_status_code == 400


def test_udps_are_per_user(server: str, connection) -> None:
    import openeo

    graph = {"a": {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}}
    connection.save_user_defined_process("three", graph)
    bob = openeo.connect(server)
    bob.authenticate_basic("bob", "bob-pw")
    assert bob.list_user_defined_processes() == []
    assert connection.execute({"u": {"process_id": "three", "arguments": {},
                                     "result": True}}) == 3


def test_udp_by_namespace_url(connection, server: str) -> None:
    graph = {"m": {"process_id": "multiply", "arguments": {"x": {"from_parameter": "x"},
                                                           "y": 3}, "result": True}}
    connection.save_user_defined_process(
        "triple", graph, parameters=[{"name": "x", "description": "n", "schema": {"type": "number"}}])
    call = {"t": {"process_id": "triple", "namespace": f"{server}process_graphs/triple",
                  "arguments": {"x": 5}, "result": True}}
    assert connection.execute(call) == 15
    call["t"]["namespace"] = "https://elsewhere.example/udps/triple.json"
    with pytest.raises(OpenEoApiError) as err:
        connection.execute(call)
    assert err.value.code == "ProcessUnsupported"
