"""The viewer page: a BootstrapTemplate with the sky map, its controls, and the cache monitor.

Served by ``panel serve apps/viewer.py`` or ``vizcache serve`` (which serves ``script/viewer.py``), both at /viewer. When the configured data set is
missing it is generated once, in the background, with progress shown in the page.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import threading

import pandas as pd
import panel as pn

from ..catalogs.readers import CatalogError
from ..config import ConfigError
from ..memory import freeze_startup_heap, prepare_process_memory, release_memory, startup_heap_frozen
from . import bokeh_sync, server_setup, url_state
from .find import Finder
from .finder_comparison import FinderComparison
from .live_ab import LiveAB
from .monitor import CacheMonitor
from .raster import compile_kernels, compile_kernels_in_background
from .reports import ReportList
from .runtime import ViewerRuntime, runtime_from_environment
from .skymap import SkyMap
from .text import as_html, as_markdown


def _notify_error(message: str) -> None:
    """A lasting error notification; ``message`` is plain text (notifications insert HTML)."""
    if pn.state.notifications is not None:
        pn.state.notifications.error(as_html(message), duration=0)


def _query_catalog(runtime: ViewerRuntime) -> str | None:
    """The catalog asked for in the URL (?catalog=NAME), if it is a configured one."""
    args = pn.state.session_args or {}
    values = args.get("catalog")
    if not values:
        return None
    name = values[0].decode("utf-8", "replace")
    if name in runtime.sources:
        return name
    # Only names from the config ever reach the loader: nothing in a URL names a file.
    pn.state.onload(lambda: _notify_error(f"Unknown catalog {name!r} in the URL; configured catalogs: {', '.join(runtime.sources)}"))
    return None


# The sky map's column stretches in both directions, and a stretching column is as tall as its
# children's minimum heights (the table's 400 px left out): its content spilled over whatever came
# below it. Inside this wrapper it is as tall as what it holds.
_CONTENT_HEIGHT = ":host > .bk-panel-models-layout-Column { height: auto !important; min-height: fit-content !important; }"


#: the page in one line, first in the sidebar: what it is and how to start
INTRO = ("Galaxy-cluster catalogs on the sky, held in a memory-aware cache. Pick a catalog, zoom the map with the "
         "wheel, find a cluster by name or position, box-select markers to list and export them.")


def build_viewer(runtime: ViewerRuntime, sidebar: pn.Column, main: pn.Column) -> SkyMap:
    catalog = _query_catalog(runtime)
    params = {"catalog": catalog} if catalog else {}
    skymap = SkyMap(runtime=runtime, notify=_notify_error, **params)

    def later(message: str) -> None:  # a notification once the page is in the browser
        pn.state.onload(lambda: _notify_error(message))

    url_state.restore(skymap, pn.state.session_args or {}, later)
    built = []

    def monitor() -> CacheMonitor:
        # Built once the page is in the browser (defer_load): a monitor is ~140 Bokeh models, and a new
        # session's page goes out without waiting for them. Once: Panel may call a deferred function again.
        if not built:
            built.append(CacheMonitor(runtime=runtime, last_switch_seconds=skymap.last_switch_seconds))
            skymap.param.watch(lambda event: setattr(built[0], "last_switch_seconds", event.new), "last_switch_seconds")
        return built[0]

    live: list[LiveAB] = []

    def live_ab() -> LiveAB:  # the live A/B card (docs/live-ab.md), deferred and built once like the monitor
        if not live:
            live.append(LiveAB(runtime=runtime))
        return live[0]

    folder = runtime.config.viewer.reports
    reports = ReportList(folder=(runtime.base / folder).resolve() if folder else None)
    sidebar[:] = [pn.pane.Markdown(INTRO, sizing_mode="stretch_width", margin=(0, 10)), Finder(skymap=skymap), skymap.controls(),
                  reports]  # reports: a section only when there are some
    # Side by side when the window leaves the map >= 720 px beside the monitor (windows from ~1,550 px), the
    # monitor under the map otherwise: a fixed 430-px monitor squeezed the map to ~370 px at 1440 px.
    # stretch_both as the map's own column (Panel would override stretch_width, and warn, per session)
    sky = pn.FlexBox(pn.Column(skymap, sizing_mode="stretch_both", styles={"flex": "3 1 720px", "min-width": "0"},
                               stylesheets=[_CONTENT_HEIGHT]),
                     pn.Column(pn.panel(monitor, defer_load=True, sizing_mode="stretch_width"),
                               pn.panel(live_ab, defer_load=True, sizing_mode="stretch_width"), sizing_mode="stretch_width",
                               styles={"flex": "1 1 400px", "min-width": "0"}),
                     flex_wrap="wrap", sizing_mode="stretch_width")
    if sum(source.spec.kind == "clusters" for source in runtime.sources.values()) >= 2:
        # dynamic tabs render a tab's models when it is opened, but building FinderComparison's panel
        # already loads both catalogs and cross-matches them: a lazy function defers that as well.
        comparison = pn.param.ParamFunction(lambda: FinderComparison(runtime=runtime, skymap=skymap), lazy=True, sizing_mode="stretch_both")
        tabs = pn.Tabs(("Sky map", sky), ("Finder comparison", comparison), dynamic=True, sizing_mode="stretch_both")
        url_state.restore_tab(tabs, pn.state.session_args or {}, later)
        main[:] = [tabs]
    else:
        tabs, main[:] = None, [sky]
    sidebar.append(url_state.follow(skymap, tabs))
    for name, reason in runtime.missing_catalogs().items():
        pn.state.onload(lambda reason=reason, name=name: _notify_error(f"Catalog {name!r} is unavailable: {reason}"))
    return skymap


def _show_generation(runtime: ViewerRuntime, sidebar: pn.Column, main: pn.Column) -> None:
    """Progress of the one-time data generation, then the viewer once the data is there."""
    runtime.start_generation()
    bar = pn.indicators.Progress(value=0, max=100, sizing_mode="stretch_width", bar_color="primary")
    text = pn.pane.Markdown("Preparing the default data set ...")
    main[:] = [pn.Column("## Generating the default catalogs (first start only)", bar, text, sizing_mode="stretch_width")]
    status = runtime.generation

    def poll() -> None:
        bar.value = int(status.fraction * 100)
        text.object = as_markdown(status.message or "starting ...")
        if status.error:
            callback.stop()
            text.object = f"**{as_markdown(status.error)}**"
            _notify_error(status.error)
        elif status.done:
            callback.stop()
            build_viewer(runtime, sidebar, main)

    callback = pn.state.add_periodic_callback(poll, period=300)


def create_app() -> pn.template.BootstrapTemplate:
    """One session's page. Config errors become a page that says what is wrong."""
    sidebar = pn.Column(sizing_mode="stretch_width")
    main = pn.Column(sizing_mode="stretch_both")
    title = "vizcache"
    try:
        runtime = runtime_from_environment()
        compile_kernels_in_background()  # once per process: the first pans and zooms do not compile them
        title = runtime.config.viewer.title
        if runtime.needs_generation():
            _show_generation(runtime, sidebar, main)
        else:
            build_viewer(runtime, sidebar, main)
    except (ConfigError, CatalogError) as exc:
        main[:] = [pn.pane.Alert(f"**The viewer could not start:** {as_markdown(exc)}", alert_type="danger")]
    # The template inserts its title into the header as HTML: it gets the escaped text.
    # Bootstrap, not Fast: the Fast design's web components were 0.9 MB of JavaScript that every new
    # page compiled and ran before its map, and its web font came from outside.
    # No header busy indicator: Panel's "busy" is one flag for the whole process, and every session's indicator
    # is updated each time any session's callback starts or ends (N sessions: N updates per callback, each
    # re-resolving the design's stylesheets; ~12 % of the server at 20 sessions). It spun for other users'
    # work too; the map has its own spinner and progress bar.
    return pn.template.BootstrapTemplate(title=as_html(title), sidebar=[sidebar], main=[main], sidebar_width=330,
                                         header_background="#3f51b5", busy_indicator=None)


#: seconds from a session's end to the collection that frees it, shared with the sessions ending meanwhile
RELEASE_DELAY = 0.5
_release_pending = threading.Lock()  # held from a collection's scheduling until it starts


def _session_ended(_context) -> None:
    # Which process: with --num-procs N the server's processes share one log, and a team counts sessions per process.
    logging.getLogger("vizcache.viewer").info("session ended in server process %d", os.getpid())
    _release_soon()


def _release_soon() -> None:
    """A closed session's Bokeh models, plots and frames are cycles of objects: collect them and hand
    the freed heap back to the OS, so sessions that come and go do not ratchet RSS up (the cache's
    RSS-threshold policy would otherwise evict shared catalogs to pay for dead sessions).

    One collection for the sessions that end together: each walks every open page's objects (the
    startup heap is frozen), and one per session was 12 % of a 20-session server's time, 20 pages
    closing stalling its thread for seconds."""
    if not _release_pending.acquire(blocking=False):
        return  # one is on its way, and will collect this session too

    def release() -> None:
        _release_pending.release()
        release_memory()

    try:
        loop = asyncio.get_running_loop()  # the server's, which runs session-end hooks
    except RuntimeError:  # no loop (a page ended outside a server): at once
        release()
        return
    loop.call_later(RELEASE_DELAY, release)


def prepare_server_process() -> None:
    """Once per server process, before its first page; at once after that.

    Every response gets the security headers and closed connections log quietly
    (:mod:`.server_setup`: from this, the first page, on). Bokeh's model sync is fixed
    (:mod:`.bokeh_sync`), glibc and Arrow give freed memory back (:func:`prepare_process_memory`),
    then the heap is frozen
    (:func:`freeze_startup_heap`), so the collection after each ended session walks only what
    sessions left. What the first page would import or compile lazily is done first, or it would
    stay unfrozen and be walked on every session's end (~70 ms instead of ~10 ms). No runtime,
    cache or catalog exists yet: a frozen cycle is never collected, and catalogs are evicted.
    """
    server_setup.install()
    bokeh_sync.install()
    # The server's log shows the viewer's INFO lines as it shows Bokeh's (Bokeh sets only its own logger's level).
    logging.getLogger("vizcache.viewer").setLevel(logging.INFO)
    prepare_process_memory()  # before any catalog is read: the RSS policy needs RSS to show what is held
    if startup_heap_frozen():
        return
    from bokeh.document import Document

    from . import find

    compile_kernels()  # datashader's spreading kernels (numba, scipy): ~1 s, once
    find.parse_position("0 0 10'")  # astropy's units and coordinates
    # Panel's Markdown (markdown-it, nh3) and Tabulator (narwhals) models, rendered once
    pn.Column(pn.pane.Markdown("*vizcache*"), pn.pane.Alert("vizcache"),
              pn.widgets.Tabulator(pd.DataFrame({"x": [1.0]}))).get_root(Document())
    freeze_startup_heap()


def serve_stylesheets_locally() -> None:
    """Every stylesheet a served page asks for comes from its own server, never cdn.holoviz.org.

    Panel rewrites its stylesheets' URLs for the document being patched, and to its CDN when there is
    none or it is not rendered yet: a Markdown pane re-rendered in a callback passes its model's
    document, None there (panel/pane/markup.py), so loading.css and markdown.css were fetched from
    the CDN. This process only serves: the local dist folder is always the right one. A Divider's
    stylesheet is never patched (its ``_get_model`` skips it): the viewer built after the first
    start's generation, i.e. after the page was rendered, asked the CDN for divider.css.
    """
    from panel import reactive
    from panel.io.resources import CDN_DIST, LOCAL_DIST, get_dist_path

    pn.layout.Divider._stylesheets = [f"{LOCAL_DIST}css/divider.css"]  # relative: right under any --prefix too

    patch = reactive.patch_stylesheet
    if getattr(patch, "serves_locally", False):
        return

    def patch_locally(stylesheet, dist_url):
        if dist_url == CDN_DIST:
            doc = pn.state.curdoc
            dist_url = doc._template_variables.get("dist_url") if doc is not None else None
            dist_url = dist_url or get_dist_path(cdn=False)
        patch(stylesheet, dist_url)

    patch_locally.serves_locally = True
    reactive.patch_stylesheet = patch_locally


def serve_page() -> None:
    """What a served script does per session: load Panel's extensions and mark this page servable."""
    pn.extension("tabulator", notifications=True, nthreads=4)
    serve_stylesheets_locally()
    prepare_server_process()
    page = create_app()
    pn.state.on_session_destroyed(_session_ended)
    page.servable()
    pn.state.curdoc.title = html.unescape(page.title)  # the tab title is escaped by Bokeh's own page template
