"""User-defined processes: ``/process_graphs`` list and ``/process_graphs/{id}`` PUT/GET/DELETE."""
from __future__ import annotations

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.backend.handlers.public_processes import _with_links, public_path
from jupyter_eo.backend.limits import check_graph


def with_parameter_descriptions(udp: dict) -> dict:
    """A stored UDP as API 1.2 describes it: every parameter has a ``description`` (required
    by the schema; a UDP stored without one gets the parameter's name)."""
    params = udp.get("parameters")
    if not isinstance(params, list):
        return udp
    fixed = [{**p, "description": p.get("description") or p.get("name", "")}
             if isinstance(p, dict) else p for p in params]
    return {**udp, "parameters": fixed}


class ProcessGraphsHandler(BaseHandler):
    def get(self) -> None:
        udps, links = self.page(self.backend.udps.list(self.user), "process_graphs")
        processes = [with_parameter_descriptions(
            {k: v for k, v in udp.items() if k != "process_graph"}) for udp in udps]
        self.write_json({"processes": processes, "links": links})


class ProcessGraphHandler(BaseHandler):
    def get(self, process_graph_id: str) -> None:
        document = with_parameter_descriptions(self.backend.udps.get(self.user,
                                                                     process_graph_id))
        if document.get("public") is True:  # API 1.2: the canonical link is the URL to share
            document = _with_links(document, self.url(public_path(self.user, process_graph_id)))
        self.write_json(document)

    async def put(self, process_graph_id: str) -> None:
        user = self.user
        body = await self.json_object()
        self.backend.udps.check_id(process_graph_id)
        body = {**body, "id": process_graph_id}  # API 1.2: the path's id replaces the body's
        pg = body.get("process_graph")
        await self.backend.run_sync(check_graph, pg, self.backend.config.limits,
                                    pool="light")
        predefined = await self.backend.run_sync(lambda: self.backend.predefined_ids, pool="light")
        self.backend.udps.put(user, process_graph_id, body, predefined)
        self.set_status(200)
        self.finish()

    def delete(self, process_graph_id: str) -> None:
        self.backend.udps.delete(self.user, process_graph_id)
        self.set_status(204)
        self.finish()
