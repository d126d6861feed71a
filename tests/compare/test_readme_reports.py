"""README's "What the A/B shows" against the committed reports under docs/example-report/.

The section is generated (vizcache.compare.readme_tables) from each report's NAME.json; these tests
fail when README was not regenerated after a report changed, when a report's summary (NAME.md) is
not what its results say, and when a shipped workload is so short that its cold misses decide.
"""

import json
import re

import pytest

from vizcache.compare import readme_tables
from vizcache.compare.report import _markdown

NAMES = readme_tables.available()
#: the reports README's argument rests on: they must be there
REQUIRED = ("three-arms-stationary", "three-arms-shift", "three-arms-threads", "seed-switching")


def report(name: str) -> dict:
    return readme_tables.load(name)


def test_the_reports_readme_rests_on_are_there():
    assert set(REQUIRED) <= set(NAMES)


def test_readme_section_is_what_the_reports_say():
    readme = (readme_tables.ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count(readme_tables.BEGIN) == 1 and readme.count(readme_tables.END) == 1
    section = readme.split("### What the A/B shows", 1)[1].split("\n## ", 1)[0]
    assert readme_tables.BEGIN in section, "the generated part is not under 'What the A/B shows'"
    assert readme_tables.replace_section(readme, readme_tables.section()) == readme, (
        "README.md differs from docs/example-report: run python -m vizcache.compare.readme_tables")
    assert readme_tables.main(["--check"]) == 0


@pytest.mark.parametrize("name", NAMES)
def test_each_summary_is_its_results(name):
    doc = report(name)
    assert doc["complete"] is True and not any(p["missing"] for p in doc["policies"].values()), f"{name}: an incomplete run"
    assert _markdown(doc) == (readme_tables.REPORTS / f"{name}.md").read_text(encoding="utf-8")
    toml = readme_tables.EXPERIMENTS[name][0]
    assert doc["experiment"]["file"].endswith(f"policies/{toml}.toml")


@pytest.mark.parametrize("name", NAMES)
def test_each_report_was_written_by_the_current_rule_and_statistics(name):
    doc = report(name)
    wl = doc["experiment"]["workload"]
    assert "warmup" in wl and "threads" in wl and "sequences" in wl  # written with per-repetition sequences and a warm-up
    if wl["kind"] not in ("trace", "scan"):
        seeds = wl["sequence_seeds"]
        assert len(set(seeds)) == doc["experiment"]["repetitions"]
        assert {r["sequence_seed"] for r in doc["runs"]} == set(seeds)
    d = doc["decision"]
    assert d["objectives"]["criteria"] == ["hit_ratio", "switch_p95_ms", "overhead_release_p95_ms"]
    assert d["action"] in ("switch", "keep", "tie", "none") and d["recommendation"]


@pytest.mark.parametrize("name", NAMES)
def test_cold_misses_do_not_decide(name):
    """The hit ratio every policy that held the budget reached is below what the sequences' first requests allowed (its
    interval included). One that went over may keep everything, and so sit on the ceiling: its hit ratio is not judged."""
    doc = report(name)
    d = doc["decision"]
    held = {c["policy"] for c in d["policies"] if c["held_limit"]} | ({d["baseline"]} if d["baseline_result"]["held_limit"] else set())
    for label, policy in doc["policies"].items():
        if label not in held:
            continue
        ceiling, hit = policy["metrics"]["cold_ceiling"], policy["metrics"]["hit_ratio"]
        top = hit["ci"][1] if hit["ci"] else hit["median"]
        assert top < ceiling["median"], f"{name}: {label}'s hit ratio {hit} reaches the cold-miss ceiling {ceiling['median']}"


def test_the_seed_sizing_figures_are_the_benchmarks():
    sizing = json.loads((readme_tables.REPORTS / "seed-sizing.json").read_text(encoding="utf-8"))
    frames = sizing["frames"]
    assert sizing["finders_per_switch_s"] == pytest.approx(sum(frames[n]["seconds"] for n in ("PZWAV", "AMICO", "BOTH")))
    assert frames["MEMBERS-000"]["rows"] > 990_000 and sizing["member_frame_s"] == frames["MEMBERS-000"]["seconds"]
    assert all(f["rows"] > 90_000 for n, f in frames.items() if n != "MEMBERS-000")  # ~112K detections per finder
    row = readme_tables.sizing_row(sizing)
    assert re.search(rf"\*\*{sizing['finders_per_switch_s']:.2f} s\*\* per switch", row)


@pytest.mark.parametrize("name", NAMES)
def test_a_decision_follows_from_its_reports_comparisons(name):
    """A switch names a policy that meets the objectives and, when the baseline meets them too, beats it; a keep has no
    qualifying candidate that beats the baseline (the rule itself, under every arm order: test_decision_rule.py)."""
    d = report(name)["decision"]
    qualified = {c["policy"]: c for c in d["policies"] if not c["fails"]}
    base_ok = d["baseline_result"] is not None and not d["baseline_result"]["fails"]
    if d["action"] == "switch":
        assert d["choice"] in qualified and (not base_ok or qualified[d["choice"]]["outcome"] == "better")
    if d["action"] == "keep":
        assert base_ok and all(c["outcome"] != "better" for c in qualified.values())
    if d["action"] == "none":
        assert not qualified and not base_ok


def test_a_changed_report_changes_the_section(tmp_path, monkeypatch):
    for path in readme_tables.REPORTS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    before = readme_tables.section()
    doc = json.loads((tmp_path / "three-arms-stationary.json").read_text(encoding="utf-8"))
    doc["policies"]["rss-lru"]["metrics"]["hit_ratio"]["median"] = 0.123
    (tmp_path / "three-arms-stationary.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setattr(readme_tables, "REPORTS", tmp_path)
    after = readme_tables.section()
    assert after != before and "| rss-lru | 0.123 [" in after
    readme = (readme_tables.ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_tables.replace_section(readme, after) != readme  # so --check, and the test above, would fail


@pytest.mark.parametrize("name", NAMES)
def test_a_committed_report_names_no_folder_of_the_machine_it_ran_on(name):
    experiment = report(name)["experiment"]
    paths = [experiment["file"], experiment["workload"].get("trace") or ""]
    assert not any(p.startswith("/") for p in paths), paths  # repository-relative, as screenshot.py writes them
