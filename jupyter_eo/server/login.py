"""``jupyter-eo/api/backends``: public backend list with login state; log in / log out per backend."""
from __future__ import annotations

import json
from typing import Any

from ..errors import NotFound, OpenEOError
from .base import JupyterEOHandler, eo_authenticated
from .proxy import PREFIX
from .sessions import CredentialManager, LoginError
from .user_backends import add_from_request, remove_from_request


def _login_error(exc: LoginError) -> OpenEOError:
    if exc.status == 404:
        return NotFound(str(exc))
    code = "CredentialsInvalid" if exc.status == 403 else "LoginFailed"
    return OpenEOError(str(exc), code=code, status=exc.status)


class _Base(JupyterEOHandler):
    @property
    def credentials(self) -> CredentialManager:
        return self.settings["jupyter_eo_credentials"]

    def backend_view(self, backend_id: str) -> dict[str, Any]:
        spec = self.credentials.registry.get(backend_id)
        if spec is None:
            raise NotFound(f"No backend with id '{backend_id}' is configured.")
        view = spec.public_view()
        view.update(self.credentials.status(backend_id))
        view["proxy_path"] = f"{self.base_url.rstrip('/')}/{PREFIX}{backend_id}/"
        return view


class BackendsHandler(_Base):
    """``GET``: every backend's public view plus the user's login state; ``POST {"url", ...}``:
    add the user's own backend (discovered first; see user_backends.py)."""

    @eo_authenticated
    def get(self) -> None:
        self.write_json({"backends": [self.backend_view(i)
                                      for i in self.credentials.registry.ids()],
                         "allow_user_backends": bool(getattr(
                             self.settings.get("jupyter_eo_user_backends"), "enabled", False))})

    @eo_authenticated
    async def post(self) -> None:
        spec = await add_from_request(self)
        self.write_json(self.backend_view(spec.id), status=201)


class BackendHandler(_Base):
    """``GET`` one backend's view; ``DELETE`` removes a user-added backend and its tokens."""

    @eo_authenticated
    def get(self, backend_id: str) -> None:
        self.write_json(self.backend_view(backend_id))

    @eo_authenticated
    def delete(self, backend_id: str) -> None:
        if self.credentials.registry.get(backend_id) is None:
            raise NotFound(f"No backend with id '{backend_id}' is configured.")
        remove_from_request(self, backend_id)
        self.set_status(204)
        self.finish()


class LoginHandler(_Base):
    """``GET`` state, ``POST`` log in (basic password, OIDC device flow, client credentials),
    ``DELETE`` log out (wipes stored tokens)."""

    @eo_authenticated
    def get(self, backend_id: str) -> None:
        self.write_json(self.backend_view(backend_id))

    @eo_authenticated
    async def post(self, backend_id: str) -> None:
        spec = self.credentials.registry.get(backend_id)
        if spec is None:
            raise NotFound(f"No backend with id '{backend_id}' is configured.")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OpenEOError("The request body must be a JSON object.", code="BadRequest",
                              status=400)
        try:
            if spec.local or spec.auth == "none":
                pass  # nothing to log in to
            elif spec.auth == "basic":
                username, password = body.get("username"), body.get("password")
                if not isinstance(username, str) or not isinstance(password, str) or not username:
                    raise OpenEOError("Basic login needs 'username' and 'password'.",
                                      code="BadRequest", status=400)
                await self.credentials.login_basic(backend_id, username, password)
            elif spec.auth == "client_credentials":
                await self.credentials.login_client_credentials(backend_id)
            else:
                await self.credentials.start_device_flow(backend_id)
                self.write_json(self.backend_view(backend_id), status=202)
                return
        except LoginError as exc:
            raise _login_error(exc) from None
        self.write_json(self.backend_view(backend_id))

    @eo_authenticated
    def delete(self, backend_id: str) -> None:
        try:
            self.credentials.logout(backend_id)
        except LoginError as exc:
            raise _login_error(exc) from None
        self.write_json(self.backend_view(backend_id))
