"""A Panel app that uses ``@vizcache.cached`` where it would use ``@pn.cache``.

    panel serve apps/cached_example.py

The expensive function runs once per distinct argument for the whole server (Panel runs this
script again for each session; the decorator finds the cache it made the first time): every
later session, and every repeat in a session, is a hit. The policy bounds the memory it may take.
"""

import numpy as np
import pandas as pd
import panel as pn

import vizcache

@vizcache.cached(policy=vizcache.RSSThresholdLRU(limit="auto", max_idle=3600))  # was: @pn.cache
def catalog(n: int) -> pd.DataFrame:
    """A stand-in for reading a catalog: slow and large, so worth caching across sessions."""
    rng = np.random.default_rng(n)
    return pd.DataFrame({"ra": rng.uniform(0, 360, n), "dec": rng.uniform(-90, 90, n)})


rows = pn.widgets.IntSlider(name="Rows", start=1_000, end=100_000, step=1_000, value=10_000)


def summary(n: int) -> str:
    frame = catalog(n)
    info = catalog.cache_info()
    return f"{len(frame):,} rows, mean Dec {frame.dec.mean():+.3f}. Calls that hit: {info.hits}; that loaded: {info.misses}"


pn.Column(rows, pn.pane.Markdown(pn.bind(summary, rows), name="summary")).servable(title="vizcache.cached example")
