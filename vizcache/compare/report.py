"""The comparison report: results.json (schema below), summary.md, and one self-contained report.html.

results.json::

    {"schema": "vizcache-compare/1",
     "experiment": {...what was run...},
     "policies": {LABEL: {"runs": n_ok, "missing": [reasons], "metrics": {METRIC: {"median", "min", "max", "n"}}}},
     "verdicts": ["...computed from the metrics..."],
     "runs": [{"label", "repetition", "status": "ok"|"missing", "reason"?, "metrics"?, "rss"?: [[s, bytes]], "limit"?}],
     "simulation"?: {...}}

Every metric is in ``vizcache.compare.metrics.METRICS`` with its label, unit and direction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .metrics import METRICS, spread, verdicts

SCHEMA = "vizcache-compare/1"
MiB = 2**20


def summarise(document: dict) -> dict:
    labels = [p["label"] for p in document["experiment"]["policies"]]
    policies = {}
    for label in labels:
        mine = [r for r in document["runs"] if r["label"] == label]
        ok = [r for r in mine if r.get("status") == "ok"]
        policies[label] = {
            "runs": len(ok),
            "missing": [f"repetition {r['repetition'] + 1}: {r['reason']}" for r in mine if r.get("status") != "ok"],
            "metrics": {m: spread([r["metrics"][m] for r in ok]) for m in METRICS},
        }
    return policies


def _markdown(document: dict) -> str:
    exp, policies = document["experiment"], document["policies"]
    labels = list(policies)
    lines = [f"# vizcache compare: {exp['name']}", "",
             f"{exp['workload']} workload, {exp['requests']} requests over {len(exp['catalogs'])} catalogs "
             f"(preset {exp['preset']}, {exp['clusters']:,} true clusters, {exp['layout']} layout), "
             f"memory headroom {exp['memory_headroom_bytes'] / MiB:.0f} MiB, {exp['repetitions']} repetitions; "
             "medians across repetitions, [min–max].", ""]
    missing = [(label, reason) for label, p in policies.items() for reason in p["missing"]]
    if missing or exp.get("interrupted"):
        lines += ["**Incomplete:** " + ("interrupted; " if exp.get("interrupted") else "") +
                  "; ".join(f"{label} {reason}" for label, reason in missing), ""]
    lines += ["| metric | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for metric, (label, unit, _) in METRICS.items():
        cells = []
        for policy in labels:
            s = policies[policy]["metrics"][metric]
            cells.append("–" if s["median"] is None else f"{s['median']:.3g} [{s['min']:.3g}–{s['max']:.3g}]")
        lines.append(f"| {label}{f' ({unit})' if unit else ''} | " + " | ".join(cells) + " |")
    lines += ["", "## Verdict", ""] + [f"* {v}" for v in document["verdicts"]]
    if "simulation" in document:
        lines += ["", "## Simulation (no real loads)", "", document["simulation"]["summary"]]
    return "\n".join(lines) + "\n"


def _plots(document: dict):
    import holoviews as hv

    hv.extension("bokeh", logo=False)
    ok = [r for r in document["runs"] if r.get("status") == "ok"]
    labels = list(document["policies"])
    colors = dict(zip(labels, hv.Cycle.default_cycles["default_colors"]))
    rss = []
    for label in labels:
        run = next((r for r in ok if r["label"] == label), None)  # first repetition of each policy
        if run is None:
            continue
        t, b = np.asarray(run["rss"], dtype=float).T if run["rss"] else (np.zeros(1), np.zeros(1))
        rss.append(hv.Curve((t, b / MiB), "seconds", "RSS MiB", label=label).opts(color=colors[label]))
        rss.append(hv.HLine(run["limit"] / MiB).opts(color=colors[label], line_dash="dashed", line_width=1))
    cdfs = []
    for label in labels:
        latencies = np.sort([req[3] * 1e3 for r in ok if r["label"] == label for req in r["requests"]])
        if len(latencies):
            cdfs.append(hv.Curve((latencies, np.arange(1, len(latencies) + 1) / len(latencies)), "switch latency ms", "fraction",
                                 label=label).opts(color=colors[label], logx=True))
    def bars(metric: str, title: str):
        data = [(label, document["policies"][label]["metrics"][metric]["median"] or 0.0) for label in labels]
        return hv.Bars(data, "policy", title).opts(title=title, color="policy", cmap=colors, xrotation=20, show_legend=False)

    opts = dict(width=560, height=320, tools=["hover"], show_grid=True)
    layout = [
        hv.Overlay(rss).opts(title="RSS over time (dashed: each run's limit)", legend_position="top_left", **opts) if rss else hv.Div("no run finished"),
        hv.Overlay(cdfs).opts(title="latency CDF (all requests)", legend_position="bottom_right", **opts) if cdfs else hv.Div(""),
        bars("hit_ratio", "hit ratio").opts(**opts),
        bars("overhead_ms", "policy overhead ms").opts(**opts),
        bars("estimated_error", "estimated-bytes error (median relative)").opts(**opts),
        bars("measured_error", "measured-bytes error (median relative)").opts(**opts),
    ]
    if "simulation" in document:
        sim = document["simulation"]
        for key, title in (("miss_ratio", "simulated miss ratio"), ("mean_latency_ms", "simulated mean latency ms")):
            curves = [hv.Curve((sim["limits_mib"], sim["curves"][label][key]), "memory limit MiB", title, label=label)
                      .opts(color=colors.get(label)) for label in sim["curves"]]
            layout.append(hv.Overlay(curves).opts(title=f"{title} across limits", legend_position="top_right", **opts))
    return hv.Layout(layout).cols(2)


def write_report(document: dict, out: Path) -> dict[str, Path]:
    """Write results.json, summary.md and report.html into ``out``; returns their paths."""
    import panel as pn
    from bokeh.resources import INLINE

    document["schema"] = SCHEMA
    document["policies"] = summarise(document)
    document["verdicts"] = verdicts({k: v["metrics"] for k, v in document["policies"].items() if v["runs"]})
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "summary.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(document, indent=1, default=str))
    markdown = _markdown(document)
    paths["markdown"].write_text(markdown)
    page = pn.Column(pn.pane.Markdown(markdown, sizing_mode="stretch_width"), pn.pane.HoloViews(_plots(document)), width=1200)
    page.save(paths["html"], resources=INLINE, title=f"vizcache compare: {document['experiment']['name']}")
    return paths
