"""The live A/B card in a real browser, on a served viewer with /vizcache/metrics: the card's ratios are the metrics'."""

import re
import urllib.request

import pytest

from ..live.test_served_live_ab import metric_values
from ..viewer.conftest import CONFIG, make_config
from ..waiting import wait_until
from .bokeh_map import wait_for_map

pytestmark = pytest.mark.ui

LIVE = CONFIG.replace('name = "AgeBased"\nmax_age = 3600\nmax_idle = 3600', 'name = "SizeEstimatedLRU"\nbudget = "6MiB"')
LABELS = ("rss-lru", "getsizeof", "legacy-rss", "lru", "s3fifo")


def test_the_card_shows_every_shadow_as_the_metrics_give_it_and_the_curve(viewer_data, serve_viewer, page, tmp_path):
    url = serve_viewer(make_config(viewer_data, f"ui-live-{tmp_path.name}.toml", LIVE), "--plugins", "vizcache.live.routes")
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.goto(url, timeout=120_000)
    wait_for_map(page)
    # MEMBERS (~8 MiB held) with the cluster catalogs is more than the 6 MiB budget: getsizeof, counting 56 bytes a
    # catalog, keeps them all and goes over. The cluster catalogs alone are well under it (the RSS a load leaves is what it
    # holds now that Arrow's reader frees its buffers).
    for name in ("PZWAV", "AMICO", "MEMBERS", "PZWAV", "BOTH", "PZWAV"):
        page.get_by_role("button", name=name, exact=True).click()
        wait_for_map(page, name)
    line = page.get_by_text("on your traffic since")  # Panel's panes live in shadow roots: text locators reach them
    line.first.wait_for(timeout=60_000)  # (no scrolling to it: the card re-renders the line every 5 s, and a handle goes stale)
    with urllib.request.urlopen(url.rsplit("/", 1)[0] + "/vizcache/metrics", timeout=60) as response:
        metrics = response.read().decode()
    requests = metric_values(metrics, "vizcache_shadow_requests_total")
    ratios = metric_values(metrics, "vizcache_shadow_hit_ratio")
    assert requests[("lru", str(6 * 2**20))] >= 6

    def same_moment():  # the card refreshes every 5 s: wait for one that saw as many requests as the scrape
        shown = line.first.inner_text()
        ours = {label: float(m.group(1)) for label in LABELS if (m := re.search(rf"(?<![\w-]){re.escape(label)} (\d\.\d\d)", shown))}
        want = {policy: round(ratio, 2) for (policy, _), ratio in ratios.items() if policy in LABELS}
        return shown if ours == want else None

    text = wait_until(same_moment, timeout=30, message="the card's ratios equal to the scrape's")
    assert re.search(r"getsizeof \d\.\d\d( \[[^\]]*\])? \(over the budget \d+ % of the time\)", text)  # it counts 56 bytes a catalog
    notes = page.get_by_text("This server process only").first.inner_text()
    assert "Budget 6.00 MiB" in notes and "sized by their loaders (0)" in notes
    curve = page.evaluate("""(() => {
      for (const m of Bokeh.documents[0].all_models)
        if (m.title && m.title.text && m.title.text.endsWith('hit ratio against budget')) {
          const source = m.renderers[0].data_source;
          return [m.title.text, source.data.budget.length, Array.from(source.data.hit_ratio)];
        }
      return null; })()""")
    assert curve[0] == "rss-lru: hit ratio against budget" and curve[1] == 10  # a getsizeof cache: the candidate's curve
    assert curve[2] == [metric_values(metrics, "vizcache_curve_hit_ratio")[key] for key in sorted(
        metric_values(metrics, "vizcache_curve_hit_ratio"), key=lambda k: float(k[2]))]
    assert page.get_by_role("button", name="Write a vizcache compare report of this window").is_disabled()  # no reports folder
