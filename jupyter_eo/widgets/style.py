"""Shared widget styling: theme-aware CSS (JupyterLab variables) and small HTML helpers."""
from __future__ import annotations

import html

import ipywidgets as w

_CSS = """
<style>
.jeo-muted { color: var(--jp-ui-font-color2, #616161); font-size: var(--jp-ui-font-size1, 13px); }
.jeo-error { color: var(--jp-error-color1, #d32f2f); font-size: var(--jp-ui-font-size1, 13px); }
.jeo-ok { color: var(--jp-success-color1, #388e3c); }
.jeo-card { border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 4px;
            padding: 4px 8px; background: var(--jp-layout-color1, #fff);
            color: var(--jp-ui-font-color1, #212121); }
.jeo-card table { border-collapse: collapse; }
.jeo-card td, .jeo-card th { padding: 1px 6px; text-align: left; }
.jeo-colorbar img { width: 100%; height: 12px; display: block; }
.jeo-colorbar .jeo-ticks { display: flex; justify-content: space-between;
                           color: var(--jp-ui-font-color1, #212121); font-size: 11px; }
.jeo-aoi-map .leaflet-container, .jeo-cube-viewer .leaflet-container {
  background: var(--jp-layout-color2, #eee); }
.jeo-explorer .widget-button:focus-visible, .jeo-explorer select:focus-visible,
.jeo-explorer input:focus-visible { outline: 2px solid var(--jp-brand-color1, #1976d2); }
.jeo-copybox textarea { font-family: var(--jp-code-font-family, monospace); }
</style>
"""


def css_style() -> w.HTML:
    """An invisible HTML widget carrying the shared CSS (repeated inclusion is harmless)."""
    return w.HTML(_CSS, layout=w.Layout(display="none"))


def error_html(message: str) -> str:
    """An inline error message (escaped)."""
    return f"<span class='jeo-error' role='alert'>&#9888; {html.escape(message)}</span>"


def muted_html(message: str) -> str:
    """A secondary-text message (escaped)."""
    return f"<span class='jeo-muted'>{html.escape(message)}</span>"
