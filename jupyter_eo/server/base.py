"""Base handler and auth decorator shared by every jupyter_eo route."""
from __future__ import annotations

import functools
import inspect
import json
import os
from typing import Any, Awaitable, Callable

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import User
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..errors import OpenEOError
from .channel import SECRET_HEADER, KernelChannel

AUTH_RESOURCE = "jupyter_eo"


async def _call(method: Callable[..., Any], handler: Any, *args: Any, **kwargs: Any) -> Any:
    result = method(handler, *args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def eo_authenticated(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Require the kernel-channel secret, or a logged-in Jupyter user authorized by
    jupyter_server's own ``@authorized`` (the authorizer's answer awaited, so async
    authorizers work; action read/write from the HTTP method, resource ``jupyter_eo``)."""
    checked = authorized(resource=AUTH_RESOURCE)(functools.partial(_call, method))

    @functools.wraps(method)
    async def wrapper(self: "JupyterEOHandler", *args: Any, **kwargs: Any) -> Any:
        if self.kernel_authenticated:
            return await _call(method, self, *args, **kwargs)
        return await checked(self, *args, **kwargs)

    return wrapper


class JupyterEOHandler(ExtensionHandlerMixin, APIHandler):
    """Base of all our handlers: Jupyter auth or kernel secret, JSON helpers, openEO errors."""

    kernel_authenticated = False
    auth_resource = AUTH_RESOURCE

    async def check_eo_access(self) -> None:
        """Raise 403 unless the kernel secret or an authorized Jupyter user made this request
        (for checks before the handler method, e.g. before a streamed body is read)."""
        if self.kernel_authenticated:
            return
        user = self.current_user
        if not user:
            raise web.HTTPError(403, "authentication required")
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "", "write")
        if not await ensure_async(self.authorizer.is_authorized(self, user, action,
                                                                AUTH_RESOURCE)):
            raise web.HTTPError(403, "not authorized")

    @property
    def channel(self) -> KernelChannel:
        return self.settings["jupyter_eo_channel"]

    async def prepare(self) -> None:  # type: ignore[override]
        presented = self.request.headers.get(SECRET_HEADER)
        if presented is not None and self.channel.verify(presented):
            self.kernel_authenticated = True
            if not self.check_host():
                raise web.HTTPError(403)
            name = os.environ.get("JUPYTERHUB_USER") or "kernel"
            self.current_user = self._jupyter_current_user = User(username=name)
            return
        await super().prepare()

    def check_xsrf_cookie(self) -> None:
        if self.kernel_authenticated:
            return None  # header secret, not a cookie: not forgeable cross-site
        return super().check_xsrf_cookie()

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """openEO errors are expected outcomes: one log line (messages hold no secrets)."""
        if isinstance(value, OpenEOError):
            level = self.log.warning if value.status >= 500 else self.log.info
            level("jupyter_eo: %s %s %s -> %s %s", self.request.method, self.request.path,
                  value.code, value.status, value.message)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OpenEOError):
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_dict()))
            return
        super().write_error(status_code, **kwargs)
