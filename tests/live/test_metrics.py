"""The Prometheus exposition of a cache and its shadows: the format, the histograms, and no key in it."""

import re

from vizcache import Cache, Sized
from vizcache.live.metrics import Metrics
from vizcache.live.shadows import attach
from vizcache.policies.rss_lru import RSSThresholdLRU
from vizcache.policies.size_estimated import SizeEstimatedLRU

HOSTILE = ['k"} 1\nvizcache_hits_total 999', "/etc/passwd", "session-id-0123456789abcdef", "\\"]
SAMPLE = re.compile(r'vizcache_[a-z_]+(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? (\S+)')


def lines_of(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith((name + "{", name + " "))]


def test_every_line_is_a_comment_or_a_sample_and_no_key_reaches_it(tmp_path):
    cache = Cache(SizeEstimatedLRU(budget="2KiB"), trace=tmp_path / "t.jsonl")
    metrics = Metrics(cache, attach(cache))
    before = metrics.render()
    assert 'vizcache_shadow_hit_ratio{policy="lru",budget="2048"} NaN' in before  # no request yet: no ratio, not 0
    for key in [k for k in HOSTILE for _ in (0, 1)] * 2:  # each twice in a row, all of them twice
        cache.get_or_load(key, lambda: Sized(b"x", 1000))
    text = metrics.render()
    for line in text.splitlines():
        assert line.startswith(("# HELP vizcache_", "# TYPE vizcache_")) or SAMPLE.fullmatch(line), line
    assert not any(key in text for key in HOSTILE) and "passwd" not in text and "session-id" not in text
    assert lines_of(text, "vizcache_hits_total") == ["vizcache_hits_total 8"]
    assert lines_of(text, "vizcache_loads_total") == ["vizcache_loads_total 8"]  # a 2 KiB budget keeps two of the four
    assert lines_of(text, "vizcache_evictions_total") == ["vizcache_evictions_total 6"]
    assert 'vizcache_memory_bytes{kind="limit"} 2048' in text and 'vizcache_memory_bytes{kind="managed"} 2000' in text
    assert lines_of(text, "vizcache_load_seconds_count") == ["vizcache_load_seconds_count 8"]
    buckets = [int(line.rsplit(" ", 1)[1]) for line in lines_of(text, "vizcache_load_seconds_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 8  # cumulative, +Inf holds every load
    assert 'vizcache_shadow_requests_total{policy="getsizeof",budget="2048"} 16' in text
    assert 'vizcache_shadow_hit_ratio{policy="lru",budget="2048"} 0.5' in text  # the same as the real size-budget LRU here


def test_histograms_keep_counting_between_scrapes_and_count_events_lost_from_the_ring(tmp_path):
    cache = Cache(RSSThresholdLRU(limit="64GiB"), trace=tmp_path / "t.jsonl", event_log_size=10)
    metrics = Metrics(cache)
    for i in range(5):
        cache.get_or_load(i, lambda: Sized(1, 10))
    metrics.render()
    for i in range(5, 40):
        cache.get_or_load(i, lambda: Sized(1, 10))
    text = metrics.render()
    assert lines_of(text, "vizcache_load_seconds_count") == ["vizcache_load_seconds_count 15"]  # 5, then the 10 the ring kept
    assert lines_of(text, "vizcache_events_missed_total") == ["vizcache_events_missed_total 25"]
    assert "vizcache_shadow_hit_ratio" not in text  # no shadows given


def test_every_metric_the_grafana_dashboard_queries_is_exposed(tmp_path):
    import json
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana" / "vizcache-live-ab.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"vizcache_[a-z_]+", target["expr"])}
    cache = Cache(RSSThresholdLRU(limit="64GiB"), trace=tmp_path / "t.jsonl")
    metrics = Metrics(cache, attach(cache, budget=2**20))
    cache.get_or_load("a", lambda: Sized(1, 10))
    exposed = {line.split("{")[0].split(" ")[0] for line in metrics.render().splitlines() if not line.startswith("#")}
    assert len(queried) >= 10 and queried <= exposed, queried - exposed


def test_the_route_follows_the_servers_prefix():
    from bokeh.server.tornado import BokehTornado

    from vizcache.live.routes import ROUTES, MetricsHandler

    for prefix, path in ((None, "/vizcache/metrics$"), ("team", "/team/vizcache/metrics$")):
        app = BokehTornado({}, prefix=prefix, extra_patterns=list(ROUTES))  # what `panel serve --plugins` hands Bokeh
        assert [r.matcher.regex.pattern for r in app.wildcard_router.rules if r.target is MetricsHandler] == [path]
