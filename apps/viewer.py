"""The vizcache sky-catalog viewer: ``panel serve apps/viewer.py [--args --config FILE]``."""

import panel as pn

from vizcache.viewer.app import create_app

pn.extension("tabulator", notifications=True, nthreads=4)
create_app().servable()
