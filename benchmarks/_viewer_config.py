"""The viewer config the viewer benchmarks serve: the three generated cluster catalogs."""

TEMPLATE = """
[policy]
name = "RSSThresholdLRU"
limit = "{limit}"

[data]
folders = ["data"]

[catalogs.PZWAV]
files = "data/pzwav.parquet"

[catalogs.AMICO]
files = "data/amico.parquet"

[catalogs.BOTH]
files = "data/both.parquet"

[viewer]
catalog = "BOTH"
"""


def viewer_config(limit: str = "4GiB") -> str:
    """A config for data generated into ``data/`` beside it, with an RSS limit."""
    return TEMPLATE.format(limit=limit)
