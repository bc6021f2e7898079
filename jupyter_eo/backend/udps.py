"""User-defined processes (``/process_graphs``) stored per user in SQLite."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jupyter_eo.backend.jobs import open_db
from jupyter_eo.errors import OpenEOError, ProcessGraphMissing, ProcessGraphNotFound

ID_PATTERN = re.compile(r"^\w+$")


class UdpStore:
    """CRUD for user-defined processes, keyed by (user, id)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        with open_db(db_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS udps (user TEXT, id TEXT, body TEXT,"
                       " PRIMARY KEY (user, id))")

    @staticmethod
    def check_id(process_graph_id: str) -> None:
        if not ID_PATTERN.match(process_graph_id or ""):
            raise OpenEOError("Process id must match ^\\w+$.", code="ProcessInvalid", status=400)

    def put(self, user: str, process_graph_id: str, body: Any, predefined: set[str]) -> dict:
        self.check_id(process_graph_id)
        if process_graph_id in predefined:
            raise OpenEOError(f"A predefined process {process_graph_id!r} exists.",
                              code="PredefinedProcessExists", status=400)
        if not isinstance(body, dict) or not isinstance(body.get("process_graph"), dict):
            raise ProcessGraphMissing()
        body = dict(body)
        if body.get("id") not in (None, process_graph_id):
            raise OpenEOError("The id in the body differs from the id in the URL.",
                              code="ProcessInvalid", status=400)
        body["id"] = process_graph_id
        with open_db(self.db_path) as db:
            db.execute("INSERT OR REPLACE INTO udps VALUES (?, ?, ?)",
                       (user, process_graph_id, json.dumps(body)))
        return body

    def get(self, user: str, process_graph_id: str) -> dict:
        found = self.find(user, process_graph_id)
        if found is None:
            raise ProcessGraphNotFound(
                f"User-defined process {process_graph_id[:80]!r} does not exist.")
        return found

    def find(self, user: str | None, process_graph_id: str) -> dict | None:
        if user is None:
            return None
        with open_db(self.db_path) as db:
            row = db.execute("SELECT body FROM udps WHERE user = ? AND id = ?",
                             (user, process_graph_id)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, user: str) -> list[dict]:
        with open_db(self.db_path) as db:
            rows = db.execute("SELECT body FROM udps WHERE user = ? ORDER BY id", (user,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete(self, user: str, process_graph_id: str) -> None:
        self.get(user, process_graph_id)
        with open_db(self.db_path) as db:
            db.execute("DELETE FROM udps WHERE user = ? AND id = ?", (user, process_graph_id))

    # -- public, read-only sharing (``GET /public/process_graphs/{user}/{id}``) ---------------
    def find_public(self, user: str, process_graph_id: str) -> dict | None:
        """The UDP if its owner stored it with ``"public": true`` (as the openeo client's
        ``save_user_defined_process(..., public=True)`` does), else None."""
        if not ID_PATTERN.match(process_graph_id or ""):
            return None
        found = self.find(user, process_graph_id)
        return found if found is not None and found.get("public") is True else None

    def list_public(self, user: str) -> list[dict]:
        """The owner's public UDPs (a catalogue others can browse)."""
        return [udp for udp in self.list(user) if udp.get("public") is True]
