"""The vizcache sky-catalog viewer: ``panel serve apps/viewer.py [--args --config FILE]``."""

from vizcache.viewer.app import serve_page

serve_page()
