"""The live A/B card and its analysis: the summary line, the decision on time windows, and the report it writes."""

import json
import time

from tests.live.test_shadows import MiB, zipf_keys
from vizcache.compare.experiment import load_experiment
from vizcache.live.ab import live_decision, ratio_interval, summary_line, write_report
from vizcache.live.shadows import ShadowSet
from vizcache.viewer.reports import find_reports

SIZES = {f"catalog-{i}": (1 + (i * 7919) % 13) * MiB for i in range(60)}


def fed(windows: int = 40, per_window: int = 100) -> ShadowSet:
    """Shadows fed zipf requests over ``windows`` windows (the sizes from RSS deltas; getsizeof sees 100 bytes a value)."""
    shadows = ShadowSet(60 * MiB, window_s=3600, estimate=lambda key: 100)
    keys = zipf_keys(windows * per_window, 60, seed=1)
    for w in range(windows):
        shadows.drain()
        for shadow in shadows.shadows:  # a new window now, as the clock starts one every window_s
            shadow.windows.append([time.time(), 0, 0, 0, 0])
        for key in keys[w * per_window:(w + 1) * per_window]:
            first = key not in shadows.sizes
            shadows.offer(key, hit=not first, nbytes=SIZES[key] if first else 0)
    return shadows


def test_the_line_gives_every_shadow_with_an_interval_and_time_over_the_budget():
    figures = fed().snapshot()
    line = summary_line(figures)
    assert line.startswith(f"on your traffic since {time.strftime('%H:%M', time.localtime(figures['started']))}: rss-lru 0.")
    for label in ("rss-lru", "getsizeof", "legacy-rss", "lru", "s3fifo"):
        ratio = figures["shadows"][label]["hit_ratio"]
        lo, hi = ratio_interval(figures["shadows"][label]["windows"])
        assert lo <= ratio <= hi and hi - lo < 0.1
        assert f"{label} {ratio:.2f} [{lo:.2f}, {hi:.2f}]" in line
    over = figures["shadows"]["getsizeof"]["over_budget_share"]
    assert 0.5 < over and f"(over the budget {over * 100:.0f} % of the time)" in line  # it counts 100 bytes a catalog
    assert "lru 0." in line and "rss-lru" in line and line.count("over the budget") == 1


def test_the_decision_is_vizcache_compares_rule_on_windows():
    figures = fed().snapshot()
    result = live_decision(figures, "getsizeof")
    by_policy = {c["policy"]: c for c in result["policies"]}
    assert result["baseline_result"]["fails"] and "held more than the budget" in result["baseline_result"]["fails"][0]
    assert not by_policy["rss-lru"]["fails"] and by_policy["rss-lru"]["runs"] == 40 == len(figures["shadows"]["lru"]["windows"])
    assert by_policy["s3fifo"]["change"]["hit_ratio"]["ci"] is not None
    assert result["action"] in ("switch", "tie") and result["recommendation"].startswith(("Switch from getsizeof", "Leave getsizeof"))
    # with a baseline that holds the budget, the rule compares the others to it
    held = live_decision(figures, "rss-lru")
    assert not held["baseline_result"]["fails"] and "getsizeof" in {c["policy"] for c in held["policies"] if c["fails"]}


def test_one_window_has_no_interval():
    assert ratio_interval([[0, 10, 5, 0, 0]]) is None and ratio_interval([[0, 10, 5, 0, 0], [1, 0, 0, 0, 0]]) is None


def test_the_report_button_writes_a_compare_experiment_of_this_processs_rows_in_the_reports_folder(tmp_path):
    trace = tmp_path / "trace.jsonl"
    old = json.dumps({"t": 0.1, "key": "from-an-earlier-server", "hit": False, "load_s": 0.1, "bytes": 0, "size": 5}) + "\n"
    trace.write_text(old)
    rows = [{"t": i * 0.1, "key": f"('catalog-{i % 5}', 'v1')", "hit": i >= 5, "load_s": 0.01 if i < 5 else 0.0,
             "bytes": 0, "size": 2 * MiB if i < 5 else None} for i in range(30)]
    trace.write_text(old + "".join(json.dumps(r) + "\n" for r in rows) + '{"t": 9, "key": "half-writ')
    reports = tmp_path / "reports"
    figures = fed(windows=2).snapshot()
    folder, proc = write_report(trace, len(old), reports, figures, "rss-lru", quick=True)
    assert folder.parent == reports and folder.name.startswith("live-")
    copied = [json.loads(line) for line in (folder / "trace.jsonl").read_text().splitlines()]
    assert copied == rows  # this process's rows: not the earlier server's, not the row being written
    experiment = load_experiment(folder / "experiment.toml")
    assert experiment.decision.baseline == "rss-lru" and experiment.workload.keys == "recorded" and experiment.workload.requests == 30
    assert [p.label for p in experiment.policies] == [label for label in figures["shadows"] if label != "lru"]  # lru: the simulator's alone
    assert proc.wait(timeout=600) == 0, (folder / "compare.log").read_text()
    result = json.loads((folder / "results.json").read_text())
    assert result["decision"]["baseline"] == "rss-lru" and (folder / "report.html").is_file()
    assert [r["name"] for r in find_reports(reports)] == [folder.name]  # the sidebar lists it
    assert {p.name for p in tmp_path.iterdir()} == {"trace.jsonl", "reports"}  # nothing written outside the reports folder


def test_decisions_are_made_in_the_background_and_shared_until_they_are_old():
    from tests.waiting import wait_until
    from vizcache.live.ab import Decisions

    shadows = fed(windows=8)
    decisions = Decisions(shadows, "getsizeof", every_s=3600)
    assert decisions.get() is None  # the first is being made
    wait_until(lambda: decisions.latest is not None, message="the first decision")
    first = decisions.get()
    assert first is decisions.get() and first["baseline"] == "getsizeof"  # not made again within every_s
    decisions.every_s = 0
    decisions.get()
    wait_until(lambda: decisions.latest is not first, message="a newer decision")


def test_a_days_windows_are_merged_into_sixty_runs_for_the_decision():
    from vizcache.live.ab import MAX_RUNS, merged

    windows = [[float(i), 10, i % 10, i % 3, i] for i in range(1440)]
    blocks = merged(windows, MAX_RUNS)
    assert len(blocks) == 60 and [sum(b[k] for b in blocks) for k in (1, 2, 3)] == [sum(w[k] for w in windows) for k in (1, 2, 3)]
    assert blocks[0][0] == 0.0 and blocks[-1][4] == 1439 and merged(windows[:5], MAX_RUNS) == windows[:5]
    figures = fed(windows=100, per_window=10).snapshot()
    assert {c["runs"] for c in live_decision(figures, "getsizeof")["policies"]} == {60}
