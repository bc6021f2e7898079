"""Markdown (process descriptions from anywhere) to HTML that cannot carry markup or scripts."""
from __future__ import annotations

import html
import re

import mistune

__all__ = ["markdown_html", "link_html"]

_SAFE_URL = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)
MAX_MARKDOWN_CHARS = 50_000


class _SafeRenderer(mistune.HTMLRenderer):
    """Raw HTML is escaped; links and images only to http(s)/mailto/fragments; links open a new tab."""

    def __init__(self) -> None:
        super().__init__(escape=True)

    def safe_url(self, url: str) -> str:
        url = url.strip()
        return html.escape(url, quote=True) if _SAFE_URL.match(url) else "#"

    def link(self, text: str, url: str, title: str | None = None) -> str:
        title_attr = f' title="{html.escape(title, quote=True)}"' if title else ""
        return (f'<a href="{self.safe_url(url)}"{title_attr} target="_blank" '
                f'rel="noopener noreferrer nofollow">{text}</a>')

    def image(self, text: str, url: str, title: str | None = None) -> str:
        # images would be fetched by the browser from anywhere: show the alt text as a link
        return self.link(html.escape(text or url), url, title)


_MARKDOWN = mistune.create_markdown(renderer=_SafeRenderer(), plugins=["table", "strikethrough", "url"])


def markdown_html(text: str | None) -> str:
    """HTML for a CommonMark text; any HTML in the text shows as text, unsafe URLs become ``#``."""
    if not text:
        return ""
    text = str(text)[:MAX_MARKDOWN_CHARS]
    return str(_MARKDOWN(text))


def link_html(href: str, title: str) -> str:
    """A safe anchor (escaped title; http(s)/mailto/fragment target, else ``#``)."""
    return _SafeRenderer().link(html.escape(str(title)[:200]), str(href))
