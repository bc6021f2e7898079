"""Authentication endpoints: ``GET /credentials/basic`` (token) and ``GET /me``."""
from __future__ import annotations

from jupyter_eo.backend.handlers.base import BaseHandler


class BasicCredentialsHandler(BaseHandler):
    def get(self) -> None:
        user = self.backend.auth.check_basic(self.request.headers.get("Authorization"))
        self.set_header("Cache-Control", "no-store")
        self.write_json({"access_token": self.backend.auth.issue_token(user)})


class MeHandler(BaseHandler):
    def get(self) -> None:
        user = self.user
        workspace = self.backend.workspace(user)
        self.write_json({
            "user_id": user,
            "name": user,
            "default_plan": "free",
            "storage": {"free": max(0, 10 * 1024 ** 3 - workspace.usage()),
                        "quota": 10 * 1024 ** 3},
            "budget": None,
            "links": [{"rel": "related", "href": self.url("/files"), "title": "User workspace",
                       "type": "application/json"}],
        })
