"""What every viewer server process installs once, however it was started (``panel serve apps/viewer.py``
or ``vizcache serve``): security headers on every response, and a closed browser connection logged as
one quiet line instead of tracebacks.

Panel and Bokeh have no setting for response headers, and ``panel serve apps/viewer.py`` runs none of
our code before its first page request. So the headers are added where Tornado writes a response's
headers (``RequestHandler.flush``), installed while the first page is built: that page's response
has them, as does every response after it (pages, static files, errors, the websocket's upgrade).
``vizcache serve`` also installs them at start (``panel serve --setup``), before any request.
"""

from __future__ import annotations

import logging
import threading

from tornado.iostream import StreamClosedError
from tornado.web import RequestHandler
from tornado.websocket import WebSocketClosedError

#: sent with every response. Only what Bokeh's pages allow: BokehJS evaluates code (CustomJS) and
#: inline scripts, so a CSP restricting scripts would break the page; framing, plugins and <base> it never uses.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # a shared view's URL (its query) is never sent to another site
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'; base-uri 'self'",
    "X-Frame-Options": "SAMEORIGIN",  # frame-ancestors for browsers without CSP level 2
}
#: what Bokeh and Panel log for each message written to a socket the browser has closed (one per message)
_FAILED_SEND = "Failed sending message as connection was closed"
_install_lock = threading.Lock()


def install() -> None:
    """Send SECURITY_HEADERS and quieten closed-connection logging in this process; once, whoever calls first."""
    with _install_lock:
        if not getattr(RequestHandler.flush, "sends_security_headers", False):
            RequestHandler.flush = _flush_with_headers(RequestHandler.flush)
        for handler in _log_handlers():
            if not any(isinstance(f, ClosedConnectionFilter) for f in handler.filters):
                handler.addFilter(ClosedConnectionFilter())


def _flush_with_headers(flush):
    def flush_with_headers(self: RequestHandler, include_footers: bool = False):
        # Tornado has no public hook that reaches a response already being handled: its headers are
        # read where it writes them (_headers_written: not yet; _headers: what the handler set).
        if not self._headers_written:
            for name, value in SECURITY_HEADERS.items():
                if name not in self._headers:
                    self.set_header(name, value)
        return flush(self, include_footers)

    flush_with_headers.sends_security_headers = True
    return flush_with_headers


def _log_handlers() -> list[logging.Handler]:
    """The handlers server logs end in: the root's (``panel serve`` configures those), Bokeh's and Panel's own."""
    return [handler for name in (None, "bokeh", "panel") for handler in logging.getLogger(name).handlers]


def _closed_connection(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, (WebSocketClosedError, StreamClosedError)):
            return True
        error = error.__cause__ or error.__context__
    return False


class ClosedConnectionFilter(logging.Filter):
    """Drops the records a browser's closed connection causes: asyncio's "Task exception was never
    retrieved" tracebacks for Panel's unawaited socket writes, callbacks that failed on it, and one
    "Failed sending message" warning per message. Bokeh logs the close itself, once, as one INFO line
    ("WebSocket connection closed: code=1001, reason=None"); every other error still gets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _closed_connection(record.exc_info[1]):
            return False
        return not (record.msg == _FAILED_SEND and record.levelno == logging.WARNING)
