"""Kernel-side ``authenticate_*()`` of a proxied connection, delegated to the server's login."""
from __future__ import annotations

import html
import time
from typing import Any, Callable

import openeo
import requests
from openeo.rest import OpenEoClientException

LOGIN_PATH = "jupyter-eo/api/backends/{backend_id}/login"
DEFAULT_MAX_POLL_TIME = 300.0
_API_TIMEOUT = 60.0  # the server's own upstream timeouts are shorter; this only bounds a hang


class DelegatedLoginError(OpenEoClientException):
    """A login started from the kernel failed or cannot run there; the message says what to do."""


class ServerLogin:
    """Talks to the server's login route for one backend (with the kernel-channel secret)."""

    def __init__(self, server_url: str, backend_id: str, headers: dict[str, str]) -> None:
        self.backend_id = backend_id
        self.url = server_url + LOGIN_PATH.format(backend_id=backend_id)
        self._headers = dict(headers)

    def _call(self, method: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        session = requests.Session()
        session.trust_env = False  # loopback, with the secret: no environment proxies or netrc
        try:
            response = session.request(method, self.url, json=body, headers=self._headers,
                                       timeout=_API_TIMEOUT, allow_redirects=False)
        except requests.RequestException as exc:
            raise DelegatedLoginError(f"could not reach the Jupyter server's login for "
                                      f"{self.backend_id!r}: {type(exc).__name__}") from None
        finally:
            session.close()
        try:
            data = response.json()
        except ValueError:
            data = {}
        return response.status_code, data if isinstance(data, dict) else {}

    def state(self) -> dict[str, Any]:
        """The backend's public view with the server user's login ``state``."""
        code, data = self._call("GET")
        if code != 200:
            raise self._error(code, data, "reading the login state")
        return data

    def start(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``POST`` the login; returns the view (``state`` ready, or pending with ``device``)."""
        code, data = self._call("POST", body or {})
        if code not in (200, 202):
            raise self._error(code, data, "logging in")
        return data

    def _error(self, code: int, data: dict[str, Any], doing: str) -> DelegatedLoginError:
        message = str(data.get("message") or f"HTTP {code}")
        error_code = str(data.get("code") or "")
        prefix = f"[{code}] {error_code}: " if error_code else f"[{code}] "
        return DelegatedLoginError(f"{prefix}{message} (while {doing} for backend "
                                   f"{self.backend_id!r} on the Jupyter server)")


def _show(text: str, html_text: str, display: Callable[[str], None] | None,
          handle: Any = None) -> Any:
    """Show a message in the notebook output (IPython display if in a kernel, else print)."""
    if display is not None:
        display(text)
        return None
    try:
        from IPython import get_ipython
        from IPython.display import display as ipy_display
    except ImportError:
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is not None and get_ipython() is not None:
        bundle = {"text/plain": text, "text/html": html_text}
        if handle is not None:
            handle.update(bundle, raw=True)
            return handle
        return ipy_display(bundle, raw=True, display_id=True)
    print(text, flush=True)
    return None


def _device_prompt(backend: str, device: dict[str, Any]) -> tuple[str, str]:
    uri = str(device.get("verification_uri_complete") or device.get("verification_uri") or "")
    code = str(device.get("user_code") or "")
    text = (f"To log in to openEO backend {backend!r}, visit {uri} and enter the user code "
            f"{code!r}. (The Jupyter server runs this login; the kernel holds no token.)")
    link = html.escape(uri, quote=True)
    markup = (f"<div><b>openEO login</b> for {html.escape(backend)}: visit "
              f'<a href="{link}" target="_blank" rel="noopener">{html.escape(uri)}</a> and '
              f"enter the user code <code>{html.escape(code)}</code>.</div>")
    return text, markup


def _wait_until_ready(login: ServerLogin, view: dict[str, Any], max_poll_time: float,
                      display: Callable[[str], None] | None) -> None:
    """Show the device prompt and poll the server until the login is ready or failed."""
    deadline = time.monotonic() + max_poll_time
    handle, shown_code, delay = None, None, 0.2
    while True:
        state = view.get("state")
        if state == "ready":
            if shown_code is not None:
                _show(f"Logged in to {login.backend_id!r}.",
                      f"<div><b>openEO login</b>: logged in to "
                      f"{html.escape(login.backend_id)}.</div>", display, handle)
            return
        if state == "pending":
            device = view.get("device") or {}
            if device.get("user_code") != shown_code:
                text, markup = _device_prompt(login.backend_id, device)
                handle = _show(text, markup, display, handle)
                shown_code = device.get("user_code")
        elif state == "error":
            raise DelegatedLoginError(f"login to {login.backend_id!r} failed on the Jupyter "
                                      f"server: {view.get('error') or 'unknown error'}")
        else:
            raise DelegatedLoginError(f"login to {login.backend_id!r} ended without a token "
                                      f"(state {state!r}); run authenticate_oidc() again or use "
                                      "the openEO backends panel in the sidebar")
        if time.monotonic() >= deadline:
            raise DelegatedLoginError(f"the device login for {login.backend_id!r} was not "
                                      f"approved within {max_poll_time:g} s; run "
                                      "authenticate_oidc() again to get a new code")
        time.sleep(delay)
        delay = min(1.0, delay * 1.5)
        view = login.state()


class ProxiedConnection(openeo.Connection):
    """An ``openeo.Connection`` through the jupyter_eo proxy whose ``authenticate_*()`` methods
    start the login on the Jupyter server: the tokens stay there, never in this kernel."""

    def __init__(self, url: str, *, server_login: ServerLogin, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self._server_login = server_login

    @property
    def backend_id(self) -> str:
        """The id under which the Jupyter server knows this backend."""
        return self._server_login.backend_id

    def _auth_kind(self, view: dict[str, Any]) -> str:
        return "local" if view.get("local") else str(view.get("auth") or "none")

    def _refuse(self, what: str, view: dict[str, Any], note: str = "") -> DelegatedLoginError:
        kind = self._auth_kind(view)
        how = {"basic": "connection.authenticate_basic(username, password)",
               "oidc": "connection.authenticate_oidc()",
               "client_credentials": "connection.authenticate_oidc_client_credentials()"}
        hint = (f"use {how[kind]} or " if kind in how else "") + \
            "log in with the openEO backends panel in the JupyterLab sidebar"
        return DelegatedLoginError(
            f"{what} cannot run in this kernel: jupyter_eo keeps credentials on the Jupyter "
            f"server, which logs in to backend {self.backend_id!r} with {kind!r} "
            f"authentication; {hint}.{note}")

    # -- the delegated methods ----------------------------------------------------------
    def authenticate_oidc(self, provider_id: str | None = None, client_id: str | None = None,
                          client_secret: str | None = None, *,
                          max_poll_time: float = DEFAULT_MAX_POLL_TIME,
                          display: Callable[[str], None] | None = None,
                          **_ignored: Any) -> "ProxiedConnection":
        """Log in on the server (OIDC device flow shown here, or the host's service account).

        Returns at once when the server already holds a login. ``provider_id``/``client_id``
        are chosen by the server's configuration; a ``client_secret`` cannot be handed over.
        """
        login = self._server_login
        view = login.state()
        kind = self._auth_kind(view)
        if kind in ("local", "none"):
            return self
        if client_secret:
            raise self._refuse("an OIDC login with a client secret given in the notebook", view)
        if kind == "basic":
            raise self._refuse("authenticate_oidc()", view)
        if kind == "client_credentials":
            login.start()  # the server's grant, checked now rather than at the first request
            return self
        if view.get("state") == "ready":
            return self
        if view.get("state") != "pending":
            view = login.start()
        _wait_until_ready(login, view, max_poll_time, display)
        return self

    def authenticate_oidc_device(self, client_id: str | None = None,
                                 client_secret: str | None = None,
                                 provider_id: str | None = None, *,
                                 max_poll_time: float = DEFAULT_MAX_POLL_TIME,
                                 **kwargs: Any) -> "ProxiedConnection":
        """Same as :meth:`authenticate_oidc`: the server runs the device flow."""
        return self.authenticate_oidc(provider_id, client_id, client_secret,
                                      max_poll_time=max_poll_time, **kwargs)

    def authenticate_basic(self, username: str | None = None,
                           password: str | None = None) -> "ProxiedConnection":
        """Send the password to the server, which exchanges it for a token (not kept here)."""
        login = self._server_login
        view = login.state()
        kind = self._auth_kind(view)
        if kind in ("local", "none"):
            return self
        if kind != "basic":
            raise self._refuse("authenticate_basic()", view)
        if not username or password is None:
            if view.get("state") == "ready":
                return self
            raise DelegatedLoginError(
                f"authenticate_basic() needs username and password for backend "
                f"{self.backend_id!r} (the server does not read the openeo client's auth "
                "config), or log in with the openEO backends panel in the JupyterLab sidebar")
        login.start({"username": username, "password": password})
        return self

    def authenticate_oidc_client_credentials(self, client_id: str | None = None,
                                             client_secret: str | None = None,
                                             provider_id: str | None = None
                                             ) -> "ProxiedConnection":
        """Have the server log in with the service account its administrator configured."""
        login = self._server_login
        view = login.state()
        kind = self._auth_kind(view)
        if kind in ("local", "none"):
            return self
        if kind != "client_credentials":
            raise self._refuse("a client-credentials login given in the notebook", view,
                               " A service account is set up by the administrator (auth "
                               "'client_credentials' in JupyterEOApp.backends); its secret "
                               "then stays in the server's configuration.")
        if client_id or client_secret:
            import warnings

            warnings.warn(f"backend {self.backend_id!r}: the Jupyter server logs in with the "
                          "service account its administrator configured; the client_id/"
                          "client_secret given here are not used", stacklevel=2)
        login.start()
        return self

    def _not_delegated(self, name: str) -> "ProxiedConnection":
        raise self._refuse(f"{name}()", self._server_login.state())

    def authenticate_oidc_refresh_token(self, *args: Any, **kwargs: Any) -> "ProxiedConnection":
        """Not delegated: the server keeps its own refresh tokens."""
        return self._not_delegated("authenticate_oidc_refresh_token")

    def authenticate_oidc_access_token(self, *args: Any, **kwargs: Any) -> "ProxiedConnection":
        """Not delegated: a token in the kernel is what jupyter_eo avoids."""
        return self._not_delegated("authenticate_oidc_access_token")

    def authenticate_bearer_token(self, *args: Any, **kwargs: Any) -> "ProxiedConnection":
        """Not delegated: a token in the kernel is what jupyter_eo avoids."""
        return self._not_delegated("authenticate_bearer_token")

    def authenticate_oidc_authorization_code(self, *args: Any,
                                             **kwargs: Any) -> "ProxiedConnection":
        """Not delegated: use the device flow (``authenticate_oidc()``)."""
        return self._not_delegated("authenticate_oidc_authorization_code")

    def authenticate_oidc_resource_owner_password_credentials(
            self, *args: Any, **kwargs: Any) -> "ProxiedConnection":
        """Not delegated: use the device flow (``authenticate_oidc()``)."""
        return self._not_delegated("authenticate_oidc_resource_owner_password_credentials")
