"""Network faults of upstream calls as openEO errors: 502 BadGateway / 504 GatewayTimeout, human text."""
from __future__ import annotations

import errno
import socket
import ssl
from urllib.parse import urlsplit

from tornado.iostream import StreamClosedError
from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError

from ..errors import OpenEOError


class ProxyError(OSError):
    """The egress proxy refused or failed a tunnel; ``str()`` names the proxy, never its password."""


class GatewayTimeout(OpenEOError):
    """Backend-specific: the upstream backend (or OIDC provider) did not answer in time."""

    code = "GatewayTimeout"
    status = 504


class BadGateway(OpenEOError):
    """Backend-specific: the upstream could not be reached or answered garbage."""

    code = "BadGateway"
    status = 502


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EPIPE: "connection closed",
}


def reason(exc: BaseException) -> str:
    """A short human reason for a network exception (no URLs, no secrets)."""
    if isinstance(exc, socket.gaierror):
        return "name not resolved"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message or 'verification failed'})"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, (StreamClosedError, HTTPStreamClosedError)):
        return "connection closed by the remote side"
    if isinstance(exc, ProxyError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno]
    if isinstance(exc, ConnectionError):
        return "connection failed"
    text = str(exc).strip()
    return text[:160] if text else type(exc).__name__


def where(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url``: no query (may carry parameters), no user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, (HTTPTimeoutError, TimeoutError)):
        return True
    return getattr(exc, "code", None) == 599 and "timeout" in str(exc).lower()


def network_error(url: str, exc: BaseException, timeout: float | None = None,
                  connect_timeout: float | None = None) -> OpenEOError:
    """The openEO error for a failed upstream exchange with ``url`` (``timeout``: the request's
    total limit; ``connect_timeout``: the limit named when connecting timed out)."""
    if is_timeout(exc):
        if connect_timeout and "connect" in str(exc).lower():
            timeout = connect_timeout
        within = f" within {timeout:g} s" if timeout else " in time"
        return GatewayTimeout(f"could not reach {where(url)}: no answer{within}")
    return BadGateway(f"could not reach {where(url)}: {reason(exc)}")
