"""The comparison report: results.json (schema ``vizcache-compare/2``, see docs/compare.md), summary.md and report.html.

The report opens with the decision (each policy against the baseline, and one recommendation),
then the setup, every metric with its median and 95 % interval, the verdicts, the budget sweep
and the simulation. Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path

import numpy as np

from .decision import CRITERIA, decision
from .files import atomic_write
from .metrics import METRICS, MiB
from .stats import change_text, interval, summarise_policy, threshold_text, verdicts

SCHEMA = "vizcache-compare/2"
SWEEP_METRICS = ("hit_ratio", "byte_hit_ratio", "peak_above_baseline_mib")
#: short names for the categories of the dot plots
SHORT = {"hit_ratio": "hits", "byte_hit_ratio": "bytes", "probe_ms": "probes", "sizing_ms": "sizing", "reclaim_ms": "gc+trim",
         "release_ms": "dropping values", "harness_gc_ms": "harness gc", "settled_excess_mib": "after", "max_excess_mib": "during load"}
REFERENCE_COLORS = ("#8c564b", "#9467bd", "#e377c2", "#7f7f7f")
#: what the concurrency section shows per policy
CONCURRENCY = ("settled_over_share", "settled_excess_mib", "over_limit_share", "max_excess_mib", "accounting_error_mib")


def _ok(document: dict, label: str, budget: int) -> list[dict]:
    return [r for r in document["runs"] if r["label"] == label and r["budget_bytes"] == budget and r.get("status") == "ok"]


def summarise(document: dict) -> None:
    """Add policies, verdicts, decision and sweep to ``document`` (at the experiment's decision budget)."""
    exp = document["experiment"]
    budget = exp["budget_bytes"]
    labels = [p["label"] for p in exp["policies"]]
    runs = {label: _ok(document, label, budget) for label in labels}
    policies = {}
    for label in labels:
        mine = [r for r in document["runs"] if r["label"] == label and r["budget_bytes"] == budget]
        policies[label] = {
            "runs": len(runs[label]), "budget_bytes": budget,
            "missing": [f"repetition {r['repetition'] + 1}: {r['reason']}" for r in mine if r.get("status") != "ok"],
            "params": [r["params"] for r in runs[label]],
            "baseline_rss": [r["baseline_rss"] for r in runs[label]],
            "hit_path": runs[label][0]["hit_path"] if runs[label] else None,
            "metrics": summarise_policy(runs[label]),
        }
    document["policies"] = policies
    present = {label: p for label, p in policies.items() if p["runs"]}
    document["decision"] = decision(runs, {k: v["metrics"] for k, v in policies.items()}, exp["decision"], exp["thresholds"])
    d = document["decision"]
    over = frozenset([c["policy"] for c in d["policies"] if not c["held_limit"]]
                     + ([d["baseline"]] if d["baseline_result"] and not d["baseline_result"]["held_limit"] else []))
    document["verdicts"] = verdicts(runs, {k: v["metrics"] for k, v in present.items()}, {k: v["hit_path"] for k, v in present.items()},
                                    exp["thresholds"], over)
    if len(exp["budgets"]) > 1:
        document["sweep"] = {"budgets": sorted(exp["budgets"]), "policies": {
            label: {m: [interval([r["metrics"][m] for r in _ok(document, label, b)]) for b in sorted(exp["budgets"])] for m in SWEEP_METRICS}
            for label in labels}}


# -- Markdown --------------------------------------------------------------------------------


def cell(text: object) -> str:
    """A Markdown table cell: a "|" inside would start a new cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: list) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _table(header: list, rows: list[list]) -> list[str]:
    return [_row(header), "|" + "---|" * len(header)] + [_row(r) for r in rows]


def _num(x: float | None, unit: str = "", digits: str = ".3g") -> str:
    return "–" if x is None else f"{x:{digits}}{f' {unit}' if unit else ''}"


def _ci(s: dict, unit: str = "") -> str:
    if s["median"] is None:
        return "–"
    return _num(s["median"], unit) + (f" [{s['ci'][0]:.3g}, {s['ci'][1]:.3g}]" if s.get("ci") else "")


def _decision_lines(document: dict) -> list[str]:
    d = document["decision"]
    exp = document["experiment"]
    obj = d["objectives"]
    base = d["baseline_result"]
    tolerance = (base or (d["policies"] or [{}])[0]).get("tolerance_mib")
    lines = ["## Decision", "", f"**{d['recommendation']}**", ""]
    lines += [f"Baseline: **{d['baseline']}**. Objectives first: memory {obj['memory']} (a policy holds the budget when its worst "
              f"run's largest excess over the limit after a request is at most {obj['tolerance']:.0%} of the budget"
              + (f", {tolerance:.3g} MiB" if tolerance is not None else "") + "; "
              + ("one that does not, does not qualify" if obj["memory"] == "hard" else "reported, not disqualifying") + ")"
              + (f", switch latency p95 ≤ {obj['switch_p95_ms']:g} ms" if obj["switch_p95_ms"] else "") + ". "
              "Peaks during loads (reading and converting a catalog) are shown apart: every policy has them.", ""]

    def memory(r: dict) -> list[str]:
        return ["yes" if r["held_limit"] else "no", _num(r["worst_excess_mib"], "MiB"), f"{r['runs_over']} of {r['runs']}",
                _ci(r["settled_over_share"]), _ci(r["max_excess_mib"], "MiB"), _ci(r["switch_p95_ms"], "ms"), ", ".join(r["fails"]) or "yes"]

    rows = ([[f"{d['baseline']} (baseline)", *memory(base)]] if base else []) + [[c["policy"], *memory(c)] for c in d["policies"]]
    lines += _table(["policy", "held the budget", "largest excess after a request, worst run", "runs that went over after a request",
                     "requests left over the limit", "largest peak excess during a load", "switch p95", "meets the objectives"], rows)
    if d["policies"]:
        lines += ["", (f"Then each policy against {d['baseline']} on {', '.join(CRITERIA.values())}: the policy minus the baseline, "
                       "with 95 % bootstrap intervals. **better**/**worse**: the interval excludes zero and the change passes the "
                       "practical threshold; *below the threshold*: the interval excludes zero but the change is smaller; "
                       "*no detectable difference*: the interval includes zero. A policy beats another when it is better on one of "
                       "these and worse on none."), ""]
        words = {"better": "**better**", "worse": "**worse**", "detectable but below the practical threshold": "*below the threshold*",
                 "no detectable difference": "*no detectable difference*", "not measured": "not measured"}
        header = ["policy"] + [f"{name} change (threshold: {threshold_text(metric, exp['thresholds'])})" for metric, name in CRITERIA.items()]
        rows = [[c["policy"]] + [f"{change_text(c['change'][metric], METRICS[metric].unit)} {words[c['change'][metric]['verdict']]}"
                                 for metric in CRITERIA] + [c["outcome"]] for c in d["policies"]]
        lines += _table(header + [f"against {d['baseline']}"], rows)
    return lines + [""]


def _workload_text(exp: dict) -> str:
    wl = exp["workload"]
    if wl.get("keys") == "recorded":
        return (f"trace workload replayed key by key: {wl['requests']} requests over {len(exp['catalogs'])} recorded keys of "
                f"`{Path(wl['trace']).name}`, each key one entry synthesised as real memory of its recorded size, loading in "
                f"{wl['load_scale']:g} × its recorded time, its size "
                + ("reported to the cache (`Sized`)" if wl["report_size"] else "not reported (policies see the value only)"))
    return (f"{wl['kind']} workload, {wl['requests']} requests over {len(exp['catalogs'])} catalogs (preset {exp['preset']}, "
            f"{exp['clusters']:,} true clusters, {exp['layout']} layout"
            + (", cache statistics refreshed after every switch as the old viewer did" if wl.get("stats_after_request") else "") + ")")


def _sequence_text(wl: dict) -> str:
    """How many request sequences, which requests count, and from how many threads."""
    seeds = wl.get("sequence_seeds")
    text = (f"Each repetition replays its own request sequence (seeds {', '.join(map(str, seeds))}, from the experiment's seed), "
            "every policy the same one in the same repetition. " if seeds else
            "Every repetition replays the same request sequence (a recorded trace, or a scan). ")
    warmup = wl.get("warmup", 0)
    text += (f"The first {warmup} requests of each run fill the cache: hit ratios and latencies leave them out (shown apart as "
             "warm-up), memory counts them. " if warmup else "Every request counts, the first loads included. ")
    if wl.get("threads", 1) > 1:
        text += (f"Requests are taken in order by {wl['threads']} threads at once, so loads overlap; no request's policy overhead "
                 "is its own (the counters are shared), so per-request overhead figures are not measured. ")
    return text


def _concurrency_lines(document: dict) -> list[str]:
    """With threads: per policy, how often and how far RSS left the limit, and how far the cache's accounting was off."""
    threads = document["experiment"]["workload"].get("threads", 1)
    if threads <= 1:
        return []
    rows = [[label] + [_ci(p["metrics"][m], METRICS[m].unit) for m in CONCURRENCY] for label, p in document["policies"].items()]
    return ([f"## Concurrency ({threads} threads)", "",
             "Median [95 % interval] over runs. The accounting error is how far the size the cache counts for its entries (a "
             "loader's report, else the RSS growth around the load) is from their true size, at its largest after a request: "
             "overlapping loads blur the RSS growth each load is given.", ""]
            + _table(["policy"] + [METRICS[m].label for m in CONCURRENCY], rows) + [""])


def _setup_lines(document: dict) -> list[str]:
    exp = document["experiment"]
    lines = ["## Setup", "", _workload_text(exp) + f"; working set {exp['working_set_bytes'] / MiB:,.0f} MiB "
             f"(the keys one sequence asks for, median over the sequences; {exp['true_size_method']}). "
             f"**Budget {exp['budget_bytes'] / MiB:,.0f} MiB** of cache memory above each run's baseline RSS, the same for every "
             "policy: SizeEstimatedLRU gets it as its `budget`; RSS-driven policies start evicting at baseline + budget "
             "(`limit` = (baseline + budget) / high_water, low water = baseline + budget × low_water / high_water). "
             "The limit every policy is held to is baseline + budget.",
             "",
             f"{exp['repetitions']} repetitions, interleaved in a freshly shuffled order each round, each run in a fresh process"
             + (" (`--quick`: " + ("the first requests only" if exp["workload"].get("keys") == "recorded" else "scaled-down data and budget") + ")"
                if exp.get("quick") else "") + f". Garbage collection: {exp['gc']}. " + _sequence_text(exp["workload"]) +
             "Intervals resample whole runs: latency percentiles are taken over the measured requests of the resampled runs "
             "pooled (a block bootstrap: a run's requests share its cache state, so they are never resampled one by one); every "
             "other metric is one value per run, and its median over runs. A comparison resamples the repetitions both policies "
             "ran, the same ones for both. A verdict names a winner only when its "
             "difference from every other policy has an interval that excludes zero and is more than "
             f"{exp['thresholds']['relative']:.0%} of the larger value (and {exp['thresholds']['latency_ms']:g} ms for latencies).", ""]
    rows = []
    for label, p in document["policies"].items():
        params = p["params"][0] if p["params"] else {}
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
                          if k != "auto_fraction" and v is not None)
        base = f"{np.median(p['baseline_rss']) / MiB:.0f}" if p["baseline_rss"] else "–"
        rows.append([label, f"{p['budget_bytes'] / MiB:,.0f}", base, shown or "–"])
    lines += _table(["policy", "budget MiB", "baseline RSS MiB (median)", "parameters used (first run)"], rows)
    return lines + [""]


def _markdown(document: dict) -> str:
    exp, policies = document["experiment"], document["policies"]
    labels = list(policies)
    lines = [f"# vizcache compare: {exp['name']}", ""]
    missing = [(label, reason) for label, p in policies.items() for reason in p["missing"]]
    if missing or exp.get("interrupted") or not document.get("complete"):
        lines += ["**Incomplete:** " + ("interrupted; " if exp.get("interrupted") else "") +
                  ("; ".join(f"{label} {reason}" for label, reason in missing) or "not every run finished"), ""]
    lines += _decision_lines(document) + _setup_lines(document) + _concurrency_lines(document)
    lines += [f"## Results at the {exp['budget_bytes'] / MiB:,.0f} MiB budget", "", "Median [95 % interval].", ""]
    rows = [[f"{m.label}{f' ({m.unit})' if m.unit else ''}"] + [_ci(policies[p]["metrics"][metric]) for p in labels]
            for metric, m in METRICS.items()]
    lines += _table(["metric"] + labels, rows) + [""]
    if "sweep" in document:
        sweep = document["sweep"]
        lines += ["## Budget sweep (real runs)", ""]
        rows = []
        for i, b in enumerate(sweep["budgets"]):
            rows.append([f"{b / MiB:,.0f}"] + [" / ".join(_num(sweep["policies"][p][m][i]["median"],
                                                                 digits=".3g" if m != "peak_above_baseline_mib" else ".0f")
                                                        for m in SWEEP_METRICS) for p in labels])
        lines += ["Hit ratio / byte hit ratio / peak RSS above baseline (MiB), medians.", ""]
        lines += _table(["budget MiB"] + labels, rows) + [""]
    if "simulation" in document:
        lines += ["## Simulation (no real loads)", "", document["simulation"]["summary"] + ".", ""]
    lines += ["## Verdict", "", f"* {document['decision']['recommendation']}"] + [f"* {v['text']}" for v in document["verdicts"]]
    return "\n".join(lines) + "\n"


# -- plots -----------------------------------------------------------------------------------


def _plots(document: dict):
    import holoviews as hv

    hv.extension("bokeh", logo=False)
    exp = document["experiment"]
    budget = exp["budget_bytes"]
    labels = list(document["policies"])
    colors = dict(zip(labels, hv.Cycle.default_cycles["default_colors"]))
    opts = dict(width=580, height=330, tools=["hover"], show_grid=True)
    runs = {label: _ok(document, label, budget) for label in labels}
    panels = []

    curves = []
    for label in labels:
        for i, run in enumerate(runs[label]):
            above = (np.asarray([r[8] for r in run["requests"]], dtype=float) - run["baseline_rss"]) / MiB
            curves.append(hv.Curve((np.arange(1, len(above) + 1), above), "request", "RSS above baseline (MiB)",
                                   label=label if i == 0 else "").opts(color=colors[label], alpha=0.7, line_width=1.5))
    curves.append(hv.HLine(budget / MiB).opts(color="black", line_dash="dashed", line_width=2))
    panels.append(hv.Overlay(curves).opts(title="RSS above baseline after each request (dashed: the limit)",
                                          legend_position="top_left", **opts))

    for which, title, axis in ((True, "hits", "hit latency (ms)"), (False, "misses", "miss latency (ms)")):
        cdfs = []
        for label in labels:
            lat = np.sort([r[3] * 1e3 for run in runs[label] for r in run["requests"] if r[2] == which])
            if len(lat):
                cdfs.append(hv.Curve((lat, np.arange(1, len(lat) + 1) / len(lat)), axis, "fraction of requests",
                                     label=label).opts(color=colors[label], logx=True, interpolation="steps-post"))
        panels.append(hv.Overlay(cdfs).opts(title=f"latency CDF, {title} (all repetitions)", legend_position="bottom_right", **opts)
                      if cdfs else hv.Div(f"<p>no {title}</p>"))

    def dots(metrics: list[str], title: str, ylabel: str, logy: bool = False, dim: str = "policy"):
        points, bars = [], []
        for metric in metrics:
            for label in labels:
                s = document["policies"][label]["metrics"][metric]
                if s["median"] is None or (logy and s["median"] <= 0):
                    continue
                x = f"{label}: {SHORT[metric]}" if len(metrics) > 1 else label
                lo, hi = s["ci"] if s["ci"] else (s["median"], s["median"])
                if logy:
                    lo = max(lo, s["median"] / 100)
                points.append((x, s["median"], label))
                bars.append((x, s["median"], s["median"] - lo, hi - s["median"]))
        if not points:
            return hv.Div(f"<p>{title}: nothing to show</p>")
        scatter = hv.Scatter(points, dim, [ylabel, "label"]).opts(color="label", cmap=colors, size=10, xrotation=30,
                                                                 show_legend=False, logy=logy)
        return (hv.ErrorBars(bars, dim, [ylabel, "neg", "pos"]).opts(logy=logy) * scatter).opts(title=title, xlabel="", **opts)

    panels.append(dots(["hit_ratio", "byte_hit_ratio"], "hit and byte hit ratio (95 % intervals)", "ratio", dim="ratio_of"))
    panels.append(dots(["probe_ms", "sizing_ms", "reclaim_ms", "release_ms", "harness_gc_ms"],
                       "overhead per request by part (log axis)", "ms", logy=True, dim="part"))
    panels.append(dots(["switch_p95_ms"], "switch latency p95 (95 % intervals)", "ms", dim="policy_p95"))
    panels.append(dots(["settled_excess_mib", "max_excess_mib"], "largest excess over the limit (after / during)",
                       "MiB", dim="excess"))
    panels += _sweep_plots(document, colors, opts)
    return hv.Layout(panels).cols(2).opts(shared_axes=False)


def _sweep_plots(document: dict, colors: dict, opts: dict) -> list:
    import holoviews as hv

    sweep, sim = document.get("sweep"), document.get("simulation")
    if not sweep and not sim:
        return []
    panels = []
    for metric, title in (("hit_ratio", "hit ratio"), ("byte_hit_ratio", "byte hit ratio"),
                          ("peak_above_baseline_mib", "peak RSS above baseline (MiB)")):
        layers = []
        if sim and sim.get("policies"):
            key = "peak_bytes" if metric == "peak_above_baseline_mib" else metric
            scale = 1 / MiB if key == "peak_bytes" else 1
            x = np.asarray(sim["budgets"]) / MiB
            for label, curve in sim["policies"].items():
                layers.append(hv.Curve((x, np.asarray(curve[key]) * scale), "budget (MiB)", title, label=f"{label} (simulated)")
                              .opts(color=colors.get(label, "gray"), line_dash="dotted"))
            for (name, curve), color in zip(sim.get("reference", {}).items(), REFERENCE_COLORS):
                layers.append(hv.Curve((x, np.asarray(curve[key]) * scale), "budget (MiB)", title, label=f"libCacheSim {name}")
                              .opts(color=color, alpha=0.7, line_dash="dashdot"))
        if sweep:
            x = np.asarray(sweep["budgets"]) / MiB
            for label, data in sweep["policies"].items():
                pts = [(xi, s["median"], s["median"] - (s["ci"] or [s["median"]])[0], (s["ci"] or [0, s["median"]])[1] - s["median"])
                       for xi, s in zip(x, data[metric]) if s["median"] is not None]
                if pts:
                    layers.append(hv.ErrorBars(pts, "budget (MiB)", [title, "neg", "pos"]).opts(color=colors.get(label)))
                    layers.append(hv.Curve([(p[0], p[1]) for p in pts], "budget (MiB)", title, label=f"{label} (real)")
                                  .opts(color=colors.get(label), line_width=2))
        if metric == "peak_above_baseline_mib":
            top = max(list(document["experiment"]["budgets"]) + (sim or {}).get("budgets", [0])) / MiB
            layers.append(hv.Curve([(0, 0), (top, top)], "budget (MiB)", title, label="= budget").opts(color="black", line_dash="dashed"))
        if layers:
            panels.append(hv.Overlay(layers).opts(title=f"{title} against budget", legend_position="bottom_right",
                                                  fontsize={"legend": 7}, **opts))
    return panels


def _data_url(path: Path) -> str:
    """``path`` as a data: URL; a stylesheet's own relative ``url(...)`` files (loading.css's spinners) inlined too."""
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    content = path.read_bytes()
    if kind == "text/css":
        def inline(match: re.Match) -> str:
            target = (path.parent / match.group(1)).resolve()
            return f"url('{_data_url(target)}')" if target.is_file() else match.group(0)

        content = re.sub(r"url\(['\"]?((?:\.\./|\./)[^'\")]+)['\"]?\)", inline, content.decode("utf-8")).encode("utf-8")
    return f"data:{kind};base64,{base64.b64encode(content).decode('ascii')}"


def _self_contained(html: str) -> str:
    """report.html opened from disk, offline: Panel's ``save`` leaves its stylesheets and icons as cdn.holoviz.org
    URLs even with INLINE resources, so each one the installed Panel has becomes a data: URL of that file."""
    from panel.io.resources import CDN_DIST, DIST_DIR

    def local(match: re.Match) -> str:
        path = DIST_DIR / match.group(1)
        return _data_url(path) if path.is_file() else match.group(0)

    return re.sub(re.escape(CDN_DIST) + r"([\w./@-]+\.(?:css|png|ico|svg))(?:\?v=[\w.]+)?", local, html)


def write_report(document: dict, out: Path, html: bool = True) -> dict[str, Path]:
    """Summarise and write results.json, summary.md and (unless ``html`` is False) report.html into ``out``."""
    document["schema"] = SCHEMA
    document.setdefault("complete", False)
    summarise(document)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "summary.md", "html": out / "report.html"}
    markdown = _markdown(document)
    if html:
        import panel as pn
        from bokeh.resources import INLINE

        tmp = out / ".report.html.tmp.html"
        page = pn.Column(pn.pane.Markdown(markdown, sizing_mode="stretch_width"), pn.pane.HoloViews(_plots(document)), width=1200)
        try:
            page.save(tmp, resources=INLINE, title=f"vizcache compare: {document['experiment']['name']}")
            atomic_write(paths["html"], _self_contained(tmp.read_text(encoding="utf-8")))
        except OSError as exc:
            from .files import ReportError

            raise ReportError(f"cannot write {paths['html']}: {exc.strerror or exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
    atomic_write(paths["markdown"], markdown)
    atomic_write(paths["json"], json.dumps(document, indent=1, default=str))  # last: it marks the report complete
    return paths
