"""A stand-in for ``openeo.Connection`` that builds graphs with the real client and never does HTTP."""
from __future__ import annotations

from typing import Any

from openeo.internal.graph_building import PGNode
from openeo.rest.datacube import DataCube


class FakeConnection:
    """Implements the Connection methods generated code uses; cubes get ``connection=None``."""

    def __init__(self) -> None:
        self.saved: dict[str, dict] = {}

    def load_collection(self, collection_id: Any, **kwargs: Any) -> DataCube:
        return DataCube.load_collection(collection_id, connection=None, fetch_metadata=False, **kwargs)

    def datacube_from_process(self, process_id: str, namespace: str | None = None, **kwargs: Any) -> DataCube:
        return DataCube(graph=PGNode(process_id, namespace=namespace, arguments=kwargs), connection=None)

    def save_user_defined_process(self, user_defined_process_id: str, process_graph: Any,
                                  parameters: list | None = None, **kwargs: Any) -> None:
        self.saved[user_defined_process_id] = {"process_graph": process_graph.flat_graph(),
                                               "parameters": [p.to_dict() for p in parameters or []]}


def run_code(code: str, variable: str = "cube") -> tuple[Any, dict[str, Any]]:
    """Execute generated lab-flavour code with a FakeConnection; return (variable value, namespace)."""
    connection = FakeConnection()
    source = code.replace('connection = jupyter_eo.connect("local")', "connection = __fake__")
    source = source.replace("import jupyter_eo\n", "")
    namespace: dict[str, Any] = {"__fake__": connection}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[variable], namespace
