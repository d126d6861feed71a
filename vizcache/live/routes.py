"""The /vizcache/metrics route, for ``panel serve --plugins vizcache.live.routes`` (``vizcache serve`` adds it).

Panel adds a plugin module's ``ROUTES`` to the server's Tornado patterns. Each server process
answers from its own cache and shadows: with ``--num-procs N`` a scrape reaches one of them. A scrape
writes the trace's buffered rows first, so the trace on disk holds every request the figures count.
"""

from __future__ import annotations

import threading
import weakref

from tornado.web import RequestHandler

from .metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_metrics: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # runtime -> its Metrics (histograms live between scrapes)
_lock = threading.Lock()


def metrics_for(runtime) -> Metrics:
    with _lock:
        metrics = _metrics.get(runtime)
        if metrics is None:
            metrics = _metrics[runtime] = Metrics(runtime.cache, runtime.shadows)
        return metrics


class MetricsHandler(RequestHandler):
    def get(self) -> None:
        from ..viewer.runtime import runtime_from_environment  # the process's one runtime, made on first use

        runtime = runtime_from_environment()
        runtime.cache.flush_trace()  # what the shadows have seen is on disk: `vizcache simulate` on the trace agrees with a scrape
        self.set_header("Content-Type", CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")
        self.write(metrics_for(runtime).render())


ROUTES = [(r"/vizcache/metrics", MetricsHandler)]
