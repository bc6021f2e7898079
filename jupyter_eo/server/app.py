"""The jupyter_eo ExtensionApp: documented settings, services built once, handlers registered."""
from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Integer, List, TraitError, Unicode, validate

from .backends import BackendConfigError, BackendRegistry, parse_backend
from .channel import KernelChannel
from .credentials import TokenStore
from .egress import ProxyConfig
from .proxy import ProxyLimits, ProxyService
from .routes import handlers
from .sessions import CredentialManager
from .supervisor import LocalBackendSupervisor
from .upstream_client import UpstreamClient
from .user_backends import UserBackendStore


class JupyterEOApp(ExtensionApp):
    """Server extension of jupyter_eo (``--JupyterEOApp.<setting>=...``).

    Example ``jupyter_server_config.py`` of a workshop host::

        c.JupyterEOApp.backends = {
            "cdse": {"url": "https://openeo.dataspace.copernicus.eu/openeo/1.2/",
                     "title": "Copernicus Data Space", "auth": "oidc"},
            "course": {"url": "https://openeo.example.org/", "auth": "client_credentials",
                       "oidc_client_id": "workshop", "oidc_client_secret": "...",
                       "oidc_issuer": "https://auth.example.org/realms/eo",
                       "oidc_provider_id": "example"},
        }

    Routes (all under ``{base_url}``): ``jupyter-eo/api/status``, ``jupyter-eo/api/backends``,
    ``jupyter-eo/api/backends/<id>/login`` and the proxy ``jupyter-eo/openeo/<id>/<path>``.
    """

    name = "jupyter_eo"
    load_other_extensions = True

    export_kernel_channel = Bool(
        True, config=True,
        help="Export the server URL and a random per-start secret to kernels' environment so "
             "kernel code (jupyter_eo.connect) can reach our handlers. Default: True.",
    )
    server_url_override = Unicode(
        "", config=True,
        help="URL (including base_url) kernels should use to reach this server, when the "
             "default http://127.0.0.1:<port><base_url> is not reachable from kernels. Default: ''.",
    )

    backends = Dict(
        {}, config=True,
        help="Remote openEO backends by id: {id: {url, title, auth, oidc_provider_id, oidc_issuer, "
             "oidc_client_id, oidc_client_secret, oidc_scopes}}. `url` is the API root (http/https); "
             "`auth` is one of none | basic | oidc (device-code login in the sidebar) | "
             "client_credentials (a service account of the host: oidc_client_id + "
             "oidc_client_secret). OIDC settings default to the backend's first /credentials/oidc "
             "provider and its default device-code client. Id 'local' is reserved. Default: {}.",
    )
    enable_local_backend = Bool(
        True, config=True,
        help="Offer the embedded backend as id 'local': a supervised `jupyter-eo serve` child on "
             "loopback with a random credential, started on first use. Default: True.",
    )
    local_backend_dir = Unicode(
        "", config=True,
        help="Data directory of the embedded backend (jobs, results, caches). "
             "Default: '' = <jupyter data dir>/jupyter_eo/backend (per OS user).",
    )
    local_backend_args = List(
        Unicode(), [], config=True,
        help="Extra command-line arguments for `jupyter-eo serve` (e.g. ['--dask-address', "
             "'tcp://...']). Default: [].",
    )
    local_backend_dask_address = Unicode(
        "", config=True,
        help="Address of an existing dask.distributed scheduler the embedded backend computes "
             "on (`jupyter-eo serve --dask-address`, e.g. 'tcp://10.0.0.5:8786'); its workers "
             "must see the backend's cache dir and user collections (see docs: Scaling out). "
             "Default: '' = compute in the backend process (threads).",
    )
    local_backend_job_workers = Integer(
        1, config=True,
        help="Batch jobs the embedded backend runs at once (`jupyter-eo serve --job-workers`), "
             "1 to 32; further started jobs stay 'queued' until one ends. On JupyterHub each "
             "user has their own embedded backend, so this is a per-user limit. Default: 1.",
    )
    local_backend_start_timeout = Float(
        120.0, config=True, help="Seconds to wait for the embedded backend to listen. Default: 120.",
    )
    credentials_dir = Unicode(
        "", config=True,
        help="Directory (created 0700) for the user's refresh tokens, one 0600 file per backend. "
             "Default: '' = <jupyter data dir>/jupyter_eo/credentials/<user>.",
    )
    proxy_connect_timeout = Float(10.0, config=True,
                                  help="Seconds to connect to a backend (then 504). Default: 10.")
    proxy_request_timeout = Float(
        600.0, config=True,
        help="Seconds a proxied request may take in total (then 504). Default: 600.")
    proxy_max_request_bytes = Integer(
        512 * 1024 ** 2, config=True,
        help="Largest request body forwarded, in bytes (then 413). Default: 512 MiB.")
    proxy_max_response_bytes = Integer(
        8 * 1024 ** 3, config=True,
        help="Largest streamed response body, in bytes. Default: 8 GiB.")
    proxy_max_rewrite_bytes = Integer(
        64 * 1024 ** 2, config=True,
        help="Largest JSON response buffered to rewrite upstream URLs, in bytes; larger JSON "
             "(data, not API metadata) is streamed unchanged. Default: 64 MiB.")
    proxy_max_concurrent = Integer(
        32, config=True, help="Proxied requests in flight per backend. Default: 32.")
    proxy_max_queued = Integer(
        128, config=True,
        help="Requests waiting per backend beyond max_concurrent; more get 429. Default: 128.")
    proxy_queue_timeout = Float(
        60.0, config=True,
        help="Seconds a queued request waits for a slot (then 503). Default: 60.")
    http_proxy = Unicode(
        None, allow_none=True, config=True,
        help="Egress forward proxy (http://[user:password@]host:port) for server-side calls to "
             "http:// backends and OIDC providers. Default: None = the http_proxy / HTTP_PROXY "
             "(else ALL_PROXY) environment variable; '' = connect directly.")
    https_proxy = Unicode(
        None, allow_none=True, config=True,
        help="Egress forward proxy for https:// targets, tunnelled with CONNECT (TLS is still "
             "end to end). Default: None = the https_proxy / HTTPS_PROXY (else ALL_PROXY) "
             "environment variable; '' = connect directly.")
    no_proxy = Unicode(
        None, allow_none=True, config=True,
        help="Hosts reached without the egress proxy: comma-separated names, domain suffixes, "
             "IP addresses, CIDR ranges, host:port, or '*'. The embedded backend (loopback "
             "child) is always reached directly. Default: None = the no_proxy / NO_PROXY "
             "environment variable.")
    allow_user_backends = Bool(
        True, config=True,
        help="Let users add and remove their own openEO backends from the sidebar (saved per "
             "user); backends in `backends` stay either way. Default: True.")
    user_backends_dir = Unicode(
        "", config=True,
        help="Directory (created 0700) holding the user's own backends (backends.json, 0600). "
             "Default: '' = <jupyter data dir>/jupyter_eo/user_backends/<user>.")
    basemap_tile_url = Unicode(
        "", config=True,
        help="XYZ tile URL template ({z}/{x}/{y}) of an online basemap for the maps in "
             "notebooks, e.g. 'https://tile.openstreetmap.org/{z}/{x}/{y}.png'. Default: '' = "
             "the offline basemap rendered by this server at jupyter-eo/basemap/{z}/{x}/{y}.png "
             "(no internet, no embedded backend needed).")
    basemap_warm_up = Bool(
        True, config=True,
        help="Load the offline basemap's renderer and data in a background thread when the "
             "server starts (a few seconds of one core), so the first map tile is fast. Only "
             "when basemap_tile_url is ''. Default: True.")

    @validate("local_backend_job_workers")
    def _validate_job_workers(self, proposal):  # type: ignore[no-untyped-def]
        from jupyter_eo.backend.config import check_job_workers

        try:
            return check_job_workers(proposal["value"])
        except ValueError:
            raise TraitError("JupyterEOApp.local_backend_job_workers must be from 1 to 32, got "
                             f"{proposal['value']!r}") from None

    def _valid_backends(self) -> dict:
        """The `backends` entries that parse; each bad one is one clear error line (no
        traceback) and is left out, so the rest of the extension keeps working and a typo
        never leaves a half-loaded extension behind."""
        valid = {}
        for backend_id, entry in self.backends.items():
            try:
                parse_backend(backend_id, entry)
            except BackendConfigError as exc:
                self.config_errors.append(f"c.JupyterEOApp.backends: {exc}")
                self.log.error("jupyter_eo: c.JupyterEOApp.backends: %s; this backend is left "
                               "out until the configuration is fixed", exc)
            else:
                valid[backend_id] = entry
        return valid

    def _data_dir(self) -> Path:
        return Path(jupyter_data_dir()) / "jupyter_eo"

    @staticmethod
    def owner_name() -> str:
        """The server's owner: JupyterHub user, else the OS user (file-name safe)."""
        name = os.environ.get("JUPYTERHUB_USER") or getpass.getuser() or "user"
        return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "user"

    def initialize_settings(self) -> None:
        self.channel = KernelChannel()
        self.settings["jupyter_eo_channel"] = self.channel
        self.config_errors: list[str] = []
        self.registry = BackendRegistry(self._valid_backends(),
                                        local_enabled=self.enable_local_backend)
        self.user_backends = UserBackendStore(
            Path(self.user_backends_dir
                 or self._data_dir() / "user_backends" / self.owner_name()),
            enabled=self.allow_user_backends, log=self.log)
        self.user_backends.load_into(self.registry)
        self.upstream = UpstreamClient(
            ProxyConfig.from_environment(http=self.http_proxy, https=self.https_proxy,
                                         no_proxy=self.no_proxy),
            max_clients=max(64, self.proxy_max_concurrent * 4),
            max_body_size=self.proxy_max_response_bytes, timeout=self.proxy_connect_timeout)
        self.supervisor = None
        if self.enable_local_backend:
            self.supervisor = LocalBackendSupervisor(
                Path(self.local_backend_dir or self._data_dir() / "backend"),
                start_timeout=self.local_backend_start_timeout,
                extra_args=(["--dask-address", self.local_backend_dask_address]
                            if self.local_backend_dask_address else [])
                + list(self.local_backend_args),
                job_workers=self.local_backend_job_workers, log=self.log)
        store = TokenStore(Path(self.credentials_dir
                                or self._data_dir() / "credentials" / self.owner_name()))
        self.credentials = CredentialManager(self.registry, store, self.supervisor,
                                             timeout=self.proxy_connect_timeout, log=self.log,
                                             http=self.upstream)
        limits = ProxyLimits(
            connect_timeout=self.proxy_connect_timeout, request_timeout=self.proxy_request_timeout,
            max_request_bytes=self.proxy_max_request_bytes,
            max_response_bytes=self.proxy_max_response_bytes,
            max_rewrite_bytes=self.proxy_max_rewrite_bytes,
            max_concurrent=self.proxy_max_concurrent, max_queued=self.proxy_max_queued,
            queue_timeout=self.proxy_queue_timeout)
        self.proxy = ProxyService(self.registry, self.credentials, limits, client=self.upstream)
        self.settings.update({"jupyter_eo_backends": self.registry,
                              "jupyter_eo_credentials": self.credentials,
                              "jupyter_eo_proxy": self.proxy,
                              "jupyter_eo_supervisor": self.supervisor,
                              "jupyter_eo_upstream": self.upstream,
                              "jupyter_eo_user_backends": self.user_backends,
                              "jupyter_eo_basemap_url": self.basemap_tile_url,
                              "jupyter_eo_config_errors": self.config_errors})
        if self.export_kernel_channel:
            self._export_channel()
            # The port is final only once the server listens: export again then.
            from tornado.ioloop import IOLoop

            IOLoop.current().add_callback(self._export_channel)
        if self.basemap_warm_up and not self.basemap_tile_url:
            from .basemap import warm_up_in_background

            # a pool thread; the event loop is not involved
            self.basemap_warmed = warm_up_in_background(self.log)

    def _export_channel(self) -> None:
        url = self.kernel_server_url()
        self.channel.export(url, basemap_url=self.basemap_tile_url or self.offline_basemap_url())

    def offline_basemap_url(self) -> str:
        """Origin-relative tile template of the offline basemap route (the lab cookie
        authenticates the browser's tile requests)."""
        return f"{self.serverapp.base_url.rstrip('/')}/jupyter-eo/basemap/{{z}}/{{x}}/{{y}}.png"

    def kernel_server_url(self) -> str:
        """The URL kernels on this machine use to reach this server (with base_url)."""
        if self.server_url_override:
            return self.server_url_override
        sa = self.serverapp
        scheme = "https" if sa.certfile else "http"
        host = "127.0.0.1"
        if sa.ip not in ("", "0.0.0.0", "localhost", "127.0.0.1", "*", "::"):
            host = sa.ip if ":" not in sa.ip else f"[{sa.ip}]"
        if sa.sock:
            return ""
        return f"{scheme}://{host}:{sa.port}{sa.base_url}"

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        """Stop the embedded backend child and close upstream clients. Safe when loading failed
        half-way (e.g. a bad `backends` entry): only what was built is stopped."""
        supervisor = getattr(self, "supervisor", None)
        if supervisor is not None:
            await supervisor.stop()
        for name in ("credentials", "proxy", "upstream"):
            service = getattr(self, name, None)
            if service is not None:
                service.close()
