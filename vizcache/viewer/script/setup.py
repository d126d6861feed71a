"""Run by `panel serve --setup` for `vizcache serve`: security headers and quiet closed-connection logs from the first request on."""

from vizcache.viewer.server_setup import install

install()
