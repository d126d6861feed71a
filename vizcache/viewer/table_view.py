"""The table of a SkyMap's rows in view: one page on the server, a pager, sorting by header, and the CSV download.

The table holds one page: the server slices the view, so a session never copies (or sends) the
rows in view, however many there are. Sorting by a header sorts every row in view here (once per
view and sort), and the CSV holds the rows in the table's order.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import panel as pn
import param

from .exports import ExportButtons, header_titles
from .samp import SampSender
from .table_rows import CSV_MAX_ROWS, TABLE_FORMATTERS, RowOrder, column_formatters, float_formats, for_display, table_columns, write_csv

PAGE_ROWS = 12


class TableView(pn.viewable.Viewer):
    """A SkyMap's rows in view (or selected on its markers) as a paged table with a CSV download.

    >>> TableView(model=skymap).csv().getvalue()  # the rows in view, in the table's order
    """

    model = param.ClassSelector(class_=param.Parameterized, constant=True, doc="The SkyMap whose rows in view are listed.")
    page = param.Integer(default=1, bounds=(1, None), doc="Page of the table of rows in view (1 = first).")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        # The view's number keys the row order: a new view is sorted (and a selection dropped) once.
        self._view_number = 0
        self._order = RowOrder()
        self._formats = None  # the float formats the table's formatters were made for
        self.widget = pn.widgets.Tabulator(pd.DataFrame(), disabled=True, show_index=False, sizing_mode="stretch_width", height=400,
                                           formatters=TABLE_FORMATTERS, titles=header_titles(("ra", "dec")),
                                           # each page's columns as wide as its numbers: Tabulator kept the first page's
                                           # widths, and a later page's wider numbers (SNR 21.04 after 7.32) were cut
                                           configuration={"layoutColumnsOnNewData": True})
        self.widget.param.watch(self._show_page, "sorters")
        self.widget.on_click(lambda event: self.click(event.row))
        self.pager = pn.widgets.IntInput(name="page", value=1, start=1, end=1, width=110)
        self.pager.link(self, value="page")
        self.previous = pn.widgets.Button(name="◀", width=40, margin=(23, 2, 5, 5))
        self.next = pn.widgets.Button(name="▶", width=40, margin=(23, 5, 5, 2))
        self.previous.on_click(lambda _: setattr(self.pager, "value", max(1, self.pager.value - 1)))
        self.next.on_click(lambda _: setattr(self.pager, "value", min(self.pager.end, self.pager.value + 1)))
        self.param.watch(self._show_page, "page")
        self.title = pn.pane.Markdown("", margin=(0, 10))
        # The count is in the label; the description stays as it is (a new one is a new Bokeh tooltip, and the page re-indexes its models).
        self.download = pn.widgets.FileDownload(callback=self.csv, filename="catalog_in_view.csv", label="Download CSV", color="primary", width=160,
                                                description=f"Download the rows listed (in view, or selected on the map) in the table's order, "
                                                            f"at most {CSV_MAX_ROWS:,}")
        self.exports = ExportButtons(table=self)  # VOTable, FITS, ECSV
        self.samp = SampSender(table=self)
        self.model.param.watch(self._new_view, "view")
        self.model.param.watch(self._select, "selection")
        self._new_view()

    def _rows(self):
        """Positions in the view's frame of the rows listed, in the table's order (None: no table)."""
        return self._order(self.model.view, self._view_number, self.widget.sorters)

    def _new_view(self, *_events) -> None:
        self._view_number += 1
        self._fill()

    def _select(self, event) -> None:
        # The rows of the markers selected (None: none); the table keeps those still in view.
        self._order.select(event.new, self._view_number)
        self._fill()

    def _fill(self) -> None:
        if self.model.view is None:
            self.widget.value = pd.DataFrame()
            # No frame: the catalog failed to load, which the page already says once; a Dask frame has no table.
            self.title.object = "" if self.model.frame is None else "Out-of-core (Dask) catalog: no table."
            self._offer_exports(False)
            self.pager.end = 1
            return
        self._offer_exports(True)
        frame = self.model.view[0]
        formats = float_formats(frame)
        if formats != self._formats:  # new formatters make new Bokeh columns, and the page re-indexes its models: only when they differ
            self._formats = formats
            self.widget.formatters = column_formatters(formats)
        count = len(self._rows())
        what = "selected" if self._order.selecting(self._view_number) else "in view"  # box or lasso on the markers
        self.title.object = f"**{count:,} {'row' if count == 1 else 'rows'} {what}**"
        stem = re.sub(r"[^\w.-]+", "_", f"{self.model.shown or 'catalog'}_{what.replace(' ', '_')}")  # BOTH_selected.csv
        self.download.filename = stem + ".csv"
        self.exports.name_files(stem)
        self.download.label = f"CSV: {count:,} {what}" if count <= CSV_MAX_ROWS else f"CSV: first {CSV_MAX_ROWS:,}"
        self.pager.end = max(1, -(-count // PAGE_ROWS))
        if self.pager.value != 1:
            self.pager.value = 1  # shows page 1 through the link
        else:
            self._show_page()

    def _offer_exports(self, enabled: bool) -> None:
        """CSV, VOTable, FITS, ECSV and SAMP on only while there is a table (no catalog loaded: nothing to export)."""
        for button in (self.download, *self.exports.buttons, self.samp.button):
            button.disabled = not enabled

    def _show_page(self, *_events) -> None:
        rows = self._rows()
        if rows is None:
            return
        frame = self.model.view[0]
        start = (self.page - 1) * PAGE_ROWS
        self.widget.value = for_display(frame.iloc[rows[start:start + PAGE_ROWS]][table_columns(frame)]).reset_index(drop=True)

    def click(self, row: int) -> None:
        """A click on the ``row``-th row of the page shown: the model highlights that row on the map."""
        rows = self._rows()
        position = (self.page - 1) * PAGE_ROWS + row
        if rows is not None and 0 <= position < len(rows):
            self.model.highlight(int(rows[position]))

    @property
    def selecting(self) -> bool:
        """Whether the rows listed are a selection on the map's markers (else the rows in view)."""
        return self._order.selecting(self._view_number)

    def listed(self) -> pd.DataFrame | None:
        """The rows listed in the table's order and columns (at most CSV_MAX_ROWS); None: no table."""
        rows = self._rows()
        if rows is None:
            return None
        frame = self.model.view[0]
        return frame.iloc[rows[:CSV_MAX_ROWS]][table_columns(frame)]

    def csv(self) -> io.StringIO:
        """The rows listed in the table's order (at most CSV_MAX_ROWS), formulas made inert, cut when asked for."""
        buffer = io.StringIO()
        rows = self.listed()
        if rows is not None:
            write_csv(rows, buffer)
        buffer.seek(0)
        return buffer

    def __panel__(self):
        return pn.Column(
            pn.Row(self.title, pn.layout.HSpacer(), self.previous, self.pager, self.next, self.download, sizing_mode="stretch_width"),
            pn.Row(pn.layout.HSpacer(), self.samp, self.exports, sizing_mode="stretch_width"),
            self.widget,
            sizing_mode="stretch_width",
        )
