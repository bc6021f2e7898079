"""A graph-only stand-in for ``openeo.Connection``: builds cubes with the real client, no HTTP."""
from __future__ import annotations

from typing import Any

__all__ = ["GraphOnlyConnection"]


class GraphOnlyConnection:
    """Implements the ``Connection`` methods that build graphs; never talks to a backend.

    Cubes are created without metadata (``connection=None``), so ``cube.band("B08")`` keeps
    band names (a backend connection with metadata turns them into band indices).
    ``save_user_defined_process`` records the UDP document in ``saved`` instead of sending it.
    """

    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}

    # authentication is a no-op, so portable code (`openeo.connect(url).authenticate_oidc()`) runs
    def authenticate_oidc(self, *args: Any, **kwargs: Any) -> GraphOnlyConnection:
        return self

    authenticate_basic = authenticate_oidc
    authenticate_oidc_device = authenticate_oidc
    authenticate_oidc_client_credentials = authenticate_oidc
    authenticate_oidc_refresh_token = authenticate_oidc

    def load_collection(self, collection_id: Any, **kwargs: Any) -> Any:
        from openeo.rest.datacube import DataCube
        kwargs.pop("fetch_metadata", None)
        return DataCube.load_collection(collection_id, connection=None, fetch_metadata=False, **kwargs)

    def load_stac(self, url: str, **kwargs: Any) -> Any:
        arguments = {"url": url, **{k: v for k, v in kwargs.items() if v is not None}}
        return self.datacube_from_process("load_stac", **arguments)

    def datacube_from_process(self, process_id: str, namespace: str | None = None, **kwargs: Any) -> Any:
        from openeo.internal.graph_building import PGNode
        from openeo.rest.datacube import DataCube
        return DataCube(graph=PGNode(process_id, namespace=namespace, arguments=kwargs), connection=None)

    def datacube_from_flat_graph(self, flat_graph: dict, parameters: dict | None = None) -> Any:
        from openeo.internal.graph_building import PGNode
        from openeo.rest.datacube import DataCube
        if "process_graph" in flat_graph:
            flat_graph = flat_graph["process_graph"]
        return DataCube(graph=PGNode.from_flat_graph(flat_graph, parameters=parameters), connection=None)

    def save_user_defined_process(self, user_defined_process_id: str, process_graph: Any,
                                  parameters: list | None = None, public: bool = False,
                                  summary: str | None = None, description: str | None = None,
                                  returns: dict | None = None, categories: list | None = None,
                                  examples: list | None = None, links: list | None = None) -> None:
        graph = process_graph.flat_graph() if hasattr(process_graph, "flat_graph") else dict(process_graph)
        document: dict[str, Any] = {"id": user_defined_process_id, "process_graph": graph}
        if parameters:
            document["parameters"] = [p.to_dict() if hasattr(p, "to_dict") else dict(p) for p in parameters]
        for key, value in (("summary", summary), ("description", description), ("returns", returns),
                           ("categories", categories), ("examples", examples), ("links", links)):
            if value is not None:
                document[key] = value
        self.saved[user_defined_process_id] = document
