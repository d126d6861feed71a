"""Live A/B on a served cache's own requests: shadow policies, a miss-ratio curve, Prometheus metrics (docs/live-ab.md).

An app layer over the core: it imports ``vizcache`` and ``vizcache.compare``; the core never imports it.
"""
