"""Public, read-only links to user-defined processes their owner marked public.

``GET /public/process_graphs/{user}/{id}`` answers the UDP document of ``user`` when it was
stored with ``"public": true`` (``connection.save_user_defined_process(..., public=True)``);
``GET /public/process_graphs/{user}`` lists that user's public UDPs as a catalogue
(``{"processes": [...]}``). Both need no login: the URL is the namespace to share, as the
``canonical`` link of openEO API 1.2. Private or unknown UDPs answer 404 alike (nothing about
their existence leaks). ``GET /process_graphs/{id}`` stays per user.
"""
from __future__ import annotations

from urllib.parse import quote

from jupyter_eo.backend.handlers.base import BaseHandler
from jupyter_eo.errors import ProcessGraphNotFound

PUBLIC_PREFIX = "public/process_graphs"


def public_path(user: str, process_graph_id: str | None = None) -> str:
    """The path (no leading slash) of a user's public UDP (or of their public catalogue)."""
    path = f"{PUBLIC_PREFIX}/{quote(user, safe='')}"
    return f"{path}/{quote(process_graph_id, safe='')}" if process_graph_id else path


class PublicProcessGraphHandler(BaseHandler):
    def get_current_user(self) -> None:  # public: a token, valid or not, is never looked at
        return None

    def get(self, user: str, process_graph_id: str) -> None:
        document = self.backend.udps.find_public(user, process_graph_id)
        if document is None:
            raise ProcessGraphNotFound(
                f"No public user-defined process {process_graph_id[:80]!r} of {user[:80]!r}.")
        self.write_json(_with_links(document, self.url(public_path(user, process_graph_id))))


class PublicProcessGraphsHandler(BaseHandler):
    def get_current_user(self) -> None:
        return None

    def get(self, user: str) -> None:
        processes = [_with_links(udp, self.url(public_path(user, udp["id"])))
                     for udp in self.backend.udps.list_public(user)]
        self.write_json({"processes": processes, "links": [
            {"rel": "self", "href": self.url(public_path(user)), "type": "application/json"}]})


def _with_links(document: dict, href: str) -> dict:
    links = [link for link in document.get("links") or []
             if isinstance(link, dict) and link.get("rel") not in ("canonical", "self")]
    links.append({"rel": "canonical", "href": href, "type": "application/json",
                  "title": "Public link to this user-defined process (its namespace URL)"})
    return {**document, "links": links}
