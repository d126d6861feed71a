"""The cache monitor's per-function table: every ``@vizcache.cached`` function of this server process.

Those functions share one cache per memory bound (:mod:`vizcache.memoize_functions`), so what one
function holds is memory another's results cannot use; the table says who holds what: calls,
hits, misses, entries and their bytes, per function, most bytes first. It is hidden while the
process has no cached function (the viewer alone has none: its catalogs go through its own cache).
"""

from __future__ import annotations

import pandas as pd
import panel as pn

from ..memoize_functions import cached_functions_stats
from ..units import format_bytes

COLUMNS = ["function", "calls", "hit %", "misses", "entries", "bytes", "cache"]
MAX_ROWS = 20  # the rest are summed in one row: a page of test lambdas must not flood the card


def function_rows(stats: list[dict] | None = None) -> pd.DataFrame:
    """One row per cached function (the ``MAX_ROWS`` holding most bytes; the others summed in one)."""
    stats = cached_functions_stats() if stats is None else stats
    rows = [_row(s["function"], s["calls"], s["hits"] + s["disk_hits"], s["misses"], s["entries"], s["bytes"],
                 ("shared " if s["shared_cache"] else "own ") + s["policy"]) for s in stats[:MAX_ROWS]]
    rest = stats[MAX_ROWS:]
    if rest:
        rows.append(_row(f"{len(rest)} more functions", *(sum(s[k] for s in rest) for k in ("calls", "hits", "misses", "entries", "bytes")), ""))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(function: str, calls: int, served: int, misses: int, entries: int, nbytes: int, cache: str) -> dict:
    # hit %: served from memory or disk, out of every call
    return {"function": function, "calls": calls, "hit %": f"{100 * served / calls:.0f}" if calls else "",
            "misses": misses, "entries": entries, "bytes": format_bytes(nbytes), "cache": cache}


class FunctionTable:
    """The table and its heading, refreshed by the monitor; nothing is sent while nothing changed."""

    def __init__(self) -> None:
        rows = function_rows()
        self.table = pn.widgets.Tabulator(rows, disabled=True, show_index=False, sizing_mode="stretch_width", height=160,
                                          layout="fit_columns", sortable=False, widths={"function": "34%"},
                                          text_align={c: "right" for c in ("calls", "hit %", "misses", "entries", "bytes")})
        self.view = pn.Column("**Cached functions** (`@vizcache.cached` in this server process; bytes: what their "
                              "entries count in their cache)", self.table, sizing_mode="stretch_width", visible=len(rows) > 0)

    def refresh(self) -> None:
        rows = function_rows()
        if not rows.equals(self.table.value):
            self.table.value = rows
        self.view.visible = len(rows) > 0
