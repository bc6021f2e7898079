"""The owner's description of a public UDP carries its ``canonical`` link (openEO API 1.2: the URL
to share), so clients get the namespace URL from ``udp.describe()``; private UDPs have none."""
from __future__ import annotations

import openeo
from openeo.api.process import Parameter

from backend_testlib import USER


def _save(connection: openeo.Connection, udp_id: str, public: bool) -> openeo.rest.udp.RESTUserDefinedProcess:
    dates = Parameter(name="dates", description="Interval",
                      schema={"type": "array", "subtype": "temporal-interval"})
    cube = connection.load_collection("TEST_S2", temporal_extent=dates, bands=["B04"])
    return connection.save_user_defined_process(udp_id, cube, parameters=[dates], public=public)


def test_public_udp_description_links_its_public_url(server: str, connection) -> None:
    shared = _save(connection, "shared_b04", public=True).describe()
    canonical = [link["href"] for link in shared.get("links", []) if link.get("rel") == "canonical"]
    assert canonical == [f"{server.rstrip('/')}/public/process_graphs/{USER}/shared_b04"]
    anonymous = openeo.connect(server).get(canonical[0].replace(server.rstrip("/"), ""),
                                           expected_status=200).json()
    assert anonymous["id"] == "shared_b04"

    private = _save(connection, "private_b04", public=False).describe()
    assert not [link for link in private.get("links", []) if link.get("rel") == "canonical"]
    listed = {p["id"]: p for p in connection.list_user_defined_processes()}
    assert {"shared_b04", "private_b04"} <= set(listed)
