"""Collection endpoints: list, full STAC metadata, queryables."""
from __future__ import annotations

import json
from typing import Any

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.errors import CollectionNotFound


class _CollectionMixin(BaseHandler):
    async def prepare_catalog(self) -> None:
        """Build the catalog (slow the first time) off the event loop."""
        await self.backend.run_sync(lambda: self.backend.catalog, pool="light")

    def collection(self, collection_id: str) -> Any:
        catalog = self.backend.catalog
        try:
            found = collection_id in catalog.ids() and catalog.get(collection_id)
        except CollectionNotFound:
            found = None
        if not found:
            raise CollectionNotFound(f"Collection {collection_id[:100]!r} does not exist.")
        return found

    def describe(self, collection_id: str) -> dict[str, Any]:
        meta = dict(self.collection(collection_id).metadata())
        meta.setdefault("stac_version", "1.0.0")
        meta.setdefault("type", "Collection")
        meta.setdefault("description", meta.get("title", collection_id))
        meta.setdefault("license", "proprietary")
        meta.setdefault("extent", {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                   "temporal": {"interval": [[None, None]]}})
        base = f"collections/{collection_id}"
        links = [link for link in meta.get("links", []) if isinstance(link, dict)]
        links += [
            {"rel": "self", "href": self.url(base), "type": "application/json"},
            {"rel": "root", "href": self.url("/"), "type": "application/json"},
            {"rel": "parent", "href": self.url("collections"), "type": "application/json"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "href": self.url(f"{base}/queryables"), "type": "application/schema+json"},
        ]
        meta["links"] = links
        return meta


class CollectionsHandler(_CollectionMixin):
    async def get(self) -> None:
        await self.prepare_catalog()
        collections = [self.describe(cid) for cid in self.backend.catalog.ids()]
        self.write_json({"collections": collections, "links": [
            {"rel": "self", "href": self.url("collections"), "type": "application/json"}]})


class CollectionHandler(_CollectionMixin):
    async def get(self, collection_id: str) -> None:
        await self.prepare_catalog()
        self.write_json(self.describe(collection_id))


class QueryablesHandler(_CollectionMixin):
    async def get(self, collection_id: str) -> None:
        await self.prepare_catalog()
        schema = dict(self.collection(collection_id).queryables() or {})
        schema.setdefault("$schema", "https://json-schema.org/draft/2019-09/schema")
        # a URI (the catalog's own ids are relative): the absolute URL of this endpoint
        schema["$id"] = self.url(f"collections/{collection_id}/queryables")
        schema.setdefault("type", "object")
        schema.setdefault("title", f"Queryables of {collection_id}")
        schema.setdefault("properties", {})
        schema.setdefault("additionalProperties", False)
        self.set_status(200)
        self.set_header("Content-Type", "application/schema+json")
        self.finish(json.dumps(schema))
