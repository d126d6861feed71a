"""The script `vizcache serve` hands to `panel serve` (absolute imports: it runs as a script), served at /viewer."""

from vizcache.viewer.app import serve_page

serve_page()
