"""Strings from outside (URLs, config files, file names, error messages) shown in the page as text, never markup.

Panel's notifications and HTML panes insert their string as HTML, and Markdown passes raw HTML through,
so a catalog called ``<img src=x onerror=...>`` would run script. Everything user-supplied goes
through one of these on its way to the page.
"""

from __future__ import annotations

import html
import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def as_html(value: object) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(value), quote=True)


def as_markdown(value: object) -> str:
    """``value`` as Markdown text: HTML escaped and Markdown punctuation backslash-escaped (no links, no emphasis)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(str(value), quote=False))  # no &#x27;: its '#' would be escaped
