"""The live A/B card built on a viewer runtime: its line, decision, curve and report button, from the runtime's own shadows."""

from vizcache import Sized
from vizcache.config import load_config
from vizcache.viewer.live_ab import LiveAB
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.text import as_markdown

from ..viewer.conftest import viewer_data  # noqa: F401  (the session-wide small data set)
from ..waiting import wait_until

CONFIG = """
[policy]
name = "SizeEstimatedLRU"
budget = "8MiB"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/small/pzwav.parquet"

[catalogs.AMICO]
files = "data/small/amico.parquet"

[trace]
path = "traces/card-{name}.jsonl"
{viewer}"""


def runtime_for(root, name: str, viewer: str = "") -> ViewerRuntime:
    path = root / f"card-{name}.toml"
    path.write_text(CONFIG.replace("{name}", name).replace("{viewer}", viewer))
    return ViewerRuntime(load_config(path))


def test_the_card_shows_the_runtimes_shadows_and_curve(viewer_data):  # noqa: F811
    runtime = runtime_for(viewer_data, "shows", '[viewer]\nreports = "reports"\n')
    for source in runtime.sources.values():  # sizes reported, not read from RSS: a load late in a long test run
        read = source.load                   # can reuse freed memory and grow RSS by nothing, leaving it unsized
        source.load = lambda read=read: Sized(loaded := read(), loaded.memory_bytes())
    for name in ("PZWAV", "AMICO", "PZWAV", "PZWAV"):
        runtime.load(name)
    card = LiveAB(runtime=runtime)
    line = card._line.object
    assert line.startswith("on your traffic since ") and "rss\\-lru " in line and "getsizeof 0\\.50" in line  # 2 of 4 hit: all kept
    assert card._curve_source.data["budget"][-1] == 16.0 and len(card._curve_source.data["hit_ratio"]) == 10
    assert runtime.shadows.snapshot()["curve"]["policy"] == "rss-lru"  # a getsizeof cache: the curve of the candidate
    assert "Budget 8\\.00 MiB" in card._notes.object and "This server process only" in card._notes.object
    assert not card._button.disabled
    wait_until(lambda: card._decisions.latest is not None, timeout=120, message="the first decision")
    card.refresh()
    decided = card._decisions.latest
    assert card._decision.object.endswith(f"{as_markdown(decided['recommendation'])}</details>")  # the rule's words, folded
    # sizes reported: getsizeof holds its budget as well as the others and stays (no candidate better)
    assert decided["action"] == "keep" and card._decision.object.count("<summary>") == 1
    assert card._decisions.latest["baseline"] == "getsizeof"  # the policy the runtime's cache runs


def test_without_a_reports_folder_the_button_says_why(viewer_data):  # noqa: F811
    card = LiveAB(runtime=runtime_for(viewer_data, "noreports"))
    assert card._button.disabled and "No `[viewer] reports` folder" in card._status.object
