"""The one route table: URL pattern, handler, and the openEO path + methods it advertises."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from jupyter_eo.backend.handlers import (auth, capabilities, collections, files, jobs,
                                         process_graphs, processes, public_processes, results,
                                         services)

if TYPE_CHECKING:
    from jupyter_eo.backend.app import Backend


class Route(NamedTuple):
    pattern: str
    handler: type
    openeo_path: str | None  # as listed in GET / "endpoints" (None: not advertised)
    methods: tuple[str, ...]


SEG = r"([^/]+)"

ROUTES: list[Route] = [
    Route(r"/\.well-known/openeo", capabilities.WellKnownHandler, None, ("GET",)),
    Route(r"/", capabilities.CapabilitiesHandler, "/", ("GET",)),
    Route(r"/conformance", capabilities.ConformanceHandler, "/conformance", ("GET",)),
    Route(r"/file_formats", capabilities.FileFormatsHandler, "/file_formats", ("GET",)),
    Route(r"/udf_runtimes", capabilities.UdfRuntimesHandler, "/udf_runtimes", ("GET",)),
    Route(r"/credentials/basic", auth.BasicCredentialsHandler, "/credentials/basic", ("GET",)),
    Route(r"/me", auth.MeHandler, "/me", ("GET",)),
    Route(r"/collections", collections.CollectionsHandler, "/collections", ("GET",)),
    Route(rf"/collections/{SEG}", collections.CollectionHandler, "/collections/{collection_id}",
          ("GET",)),
    Route(rf"/collections/{SEG}/queryables", collections.QueryablesHandler,
          "/collections/{collection_id}/queryables", ("GET",)),
    Route(r"/processes", processes.ProcessesHandler, "/processes", ("GET",)),
    Route(r"/validation", processes.ValidationHandler, "/validation", ("POST",)),
    Route(r"/result", results.ResultHandler, "/result", ("POST",)),
    Route(r"/jobs", jobs.JobsHandler, "/jobs", ("GET", "POST")),
    Route(rf"/jobs/{SEG}", jobs.JobHandler, "/jobs/{job_id}", ("GET", "PATCH", "DELETE")),
    Route(rf"/jobs/{SEG}/results", jobs.JobResultsHandler, "/jobs/{job_id}/results",
          ("GET", "POST", "DELETE")),
    Route(rf"/jobs/{SEG}/results/assets/{SEG}", jobs.JobAssetHandler, None, ("GET", "HEAD")),
    Route(rf"/jobs/{SEG}/logs", jobs.JobLogsHandler, "/jobs/{job_id}/logs", ("GET",)),
    Route(rf"/jobs/{SEG}/estimate", jobs.JobEstimateHandler, "/jobs/{job_id}/estimate", ("GET",)),
    Route(r"/process_graphs", process_graphs.ProcessGraphsHandler, "/process_graphs", ("GET",)),
    Route(rf"/process_graphs/{SEG}", process_graphs.ProcessGraphHandler,
          "/process_graphs/{process_graph_id}", ("GET", "PUT", "DELETE")),
    Route(rf"/public/process_graphs/{SEG}/{SEG}", public_processes.PublicProcessGraphHandler, None,
          ("GET",)),
    Route(rf"/public/process_graphs/{SEG}", public_processes.PublicProcessGraphsHandler, None,
          ("GET",)),
    Route(r"/service_types", services.ServiceTypesHandler, "/service_types", ("GET",)),
    Route(r"/services", services.ServicesHandler, "/services", ("GET", "POST")),
    Route(rf"/services/{SEG}", services.ServiceHandler, "/services/{service_id}",
          ("GET", "PATCH", "DELETE")),
    Route(rf"/xyz/{SEG}/(\d+)/(\d+)/(\d+)\.png", services.XyzTileHandler, None, ("GET",)),
    Route(r"/basemap/(\d+)/(\d+)/(\d+)\.png", services.BasemapTileHandler, None, ("GET",)),
    Route(r"/files", files.FilesHandler, "/files", ("GET",)),
    Route(r"/files/(.+)", files.FileHandler, "/files/{path}", ("GET", "PUT", "DELETE")),
]


def endpoints() -> list[dict[str, Any]]:
    """The ``endpoints`` list of ``GET /``: exactly the advertised routes."""
    return [{"path": r.openeo_path, "methods": list(r.methods)} for r in ROUTES if r.openeo_path]


def routes(backend: "Backend") -> list[tuple[str, type, dict[str, Any]]]:
    return [(r.pattern, r.handler, {"backend": backend, "methods": r.methods}) for r in ROUTES]
