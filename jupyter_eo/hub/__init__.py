"""Helpers for running jupyter_eo on JupyterHub (workshop configuration of single-user servers)."""
from __future__ import annotations

from .workshop import Workshop, configure_workshop, server_config

__all__ = ["Workshop", "configure_workshop", "server_config"]
