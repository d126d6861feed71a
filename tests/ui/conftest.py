from ..viewer.conftest import viewer_data  # noqa: F401  (the same session-wide small data set)
