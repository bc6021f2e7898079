"""Egress HTTP proxy settings (HTTP(S)_PROXY / NO_PROXY or traitlets) and CONNECT tunnelling."""
from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import ssl
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from tornado import httputil
from tornado.iostream import IOStream
from tornado.tcpclient import TCPClient

from .upstream_errors import ProxyError, reason as _os_reason

MAX_CONNECT_REPLY_BYTES = 64 * 1024
__all__ = ["EgressProxy", "ProxyConfig", "ProxyError", "TunnelTCPClient", "bypasses",
           "parse_proxy_url"]


@dataclass(frozen=True)
class EgressProxy:
    """One forward proxy (``http://[user:password@]host:port``)."""

    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def display(self) -> str:
        """``http://host:port`` (no credentials): safe for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def authorization(self) -> str:
        """The ``Proxy-Authorization`` value, or '' without credentials."""
        if not self.username:
            return ""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def parse_proxy_url(value: str) -> EgressProxy:
    """``http://[user:pw@]host[:port]`` (``host:port`` alone means http); other schemes refused."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme != "http":
        raise ValueError(f"egress proxy {parts.scheme}://{parts.hostname or ''} is not supported "
                         "(only http:// forward proxies, which tunnel https with CONNECT)")
    if not parts.hostname:
        raise ValueError("egress proxy URL has no host")
    return EgressProxy(host=parts.hostname, port=parts.port or 80,
                       username=unquote(parts.username or ""),
                       password=unquote(parts.password or ""))


def _env(environ: Mapping[str, str], name: str) -> str:
    # lower case first (curl's and requests' order); HTTP_PROXY is ignored under CGI (httpoxy)
    lower = environ.get(name.lower())
    if lower is not None:
        return lower
    if name == "HTTP_PROXY" and "REQUEST_METHOD" in environ:
        return ""
    return environ.get(name, "")


@dataclass(frozen=True)
class ProxyConfig:
    """Which forward proxy (if any) a URL goes through.

    ``http``/``https``: proxy URLs for http:// and https:// targets ('' = direct). ``no_proxy``:
    comma- or space-separated hosts, domain suffixes (``example.org`` also matches
    ``a.example.org``; a leading dot is optional), IP addresses, CIDR ranges, ``host:port``, or
    ``*`` (nothing is proxied).
    """

    http: str = ""
    https: str = ""
    no_proxy: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, *,
                         http: str | None = None, https: str | None = None,
                         no_proxy: str | None = None) -> "ProxyConfig":
        """Settings from the environment; an argument that is not None overrides its variable."""
        env = os.environ if environ is None else environ
        all_proxy = _env(env, "ALL_PROXY")
        config = cls(
            http=http if http is not None else (_env(env, "HTTP_PROXY") or all_proxy),
            https=https if https is not None else (_env(env, "HTTPS_PROXY") or all_proxy),
            no_proxy=no_proxy if no_proxy is not None else _env(env, "NO_PROXY"))
        for value in (config.http, config.https):
            if value:
                parse_proxy_url(value)  # a clear error at start, not on the first request
        return config

    def proxy_for(self, url: str) -> EgressProxy | None:
        """The proxy for ``url``, or None for a direct connection."""
        parts = urlsplit(url)
        value = self.https if parts.scheme == "https" else self.http
        if not value or not parts.hostname:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if bypasses(self.no_proxy, parts.hostname, port):
            return None
        return parse_proxy_url(value)

    def public(self) -> dict[str, Any]:
        """Proxy hosts without credentials (for the status route and logs)."""
        return {"http": parse_proxy_url(self.http).display if self.http else "",
                "https": parse_proxy_url(self.https).display if self.https else "",
                "no_proxy": self.no_proxy}


def bypasses(no_proxy: str, host: str, port: int) -> bool:
    """True when ``host:port`` matches an entry of a NO_PROXY list."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port = None
        if entry.count(":") == 1 or (entry.startswith("[") and "]:" in entry):
            name, _, port_text = entry.rpartition(":")
            if port_text.isdigit():
                entry, entry_port = name, int(port_text)
        if entry_port is not None and entry_port != port:
            continue
        entry = entry.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".").rstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


class TunnelTCPClient:
    """A TCPClient stand-in that connects to ``proxy`` instead of the target.

    For https targets it opens a ``CONNECT host:port`` tunnel and starts TLS to the target
    through it (certificate checked against the target's name); for http targets it returns the
    plain proxy connection (the request line then carries the absolute URI).
    """

    def __init__(self, inner: TCPClient, proxy: EgressProxy) -> None:
        self.inner, self.proxy = inner, proxy

    async def connect(self, host: str, port: int, af: Any = None, ssl_options: Any = None,
                      max_buffer_size: int | None = None, source_ip: str | None = None,
                      source_port: int | None = None, timeout: float | None = None) -> IOStream:
        async def run() -> IOStream:
            try:
                stream = await self.inner.connect(self.proxy.host, self.proxy.port,
                                                  max_buffer_size=max_buffer_size,
                                                  source_ip=source_ip, source_port=source_port)
            except OSError as exc:
                raise ProxyError(f"egress proxy {self.proxy.display} unreachable "
                                 f"({_os_reason(exc)})") from None
            if ssl_options is None:
                return stream
            return await self._tunnel(stream, host, port, ssl_options)

        if timeout:
            try:
                return await asyncio.wait_for(run(), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"Timeout while connecting through proxy "
                                   f"{self.proxy.display}") from None
        return await run()

    async def _tunnel(self, stream: IOStream, host: str, port: int, ssl_options: Any) -> IOStream:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        auth = self.proxy.authorization()
        if auth:
            lines.append(f"Proxy-Authorization: {auth}")
        try:
            await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            head = await stream.read_until(b"\r\n\r\n", max_bytes=MAX_CONNECT_REPLY_BYTES)
        except Exception:
            stream.close()
            raise ProxyError(f"egress proxy {self.proxy.display} closed the connection during "
                             f"CONNECT {target}") from None
        first = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        try:
            status = httputil.parse_response_start_line(first)
        except httputil.HTTPInputError:
            stream.close()
            raise ProxyError(f"egress proxy {self.proxy.display} gave a malformed answer to "
                             "CONNECT") from None
        if not 200 <= status.code < 300:
            stream.close()
            reason = status.reason.strip()[:120]
            raise ProxyError(f"egress proxy {self.proxy.display} refused CONNECT {target} "
                             f"(HTTP {status.code}{' ' + reason if reason else ''})")
        try:
            return await stream.start_tls(False, ssl_options=ssl_options, server_hostname=host)
        except ssl.SSLError:
            raise
        except OSError as exc:
            raise ProxyError(f"TLS through egress proxy {self.proxy.display} failed "
                             f"({_os_reason(exc)})") from None
