"""A view of a catalog as an image: datashader aggregates the rows in a box into a fixed pixel grid.

What HoloViews' ``rasterize`` + ``dynspread`` did for the sky map, without a HoloViews plot per
session: the sky map draws the result as one Bokeh image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import datashader as ds
import datashader.transfer_functions as tf
import numpy as np
import pandas as pd

#: spread pixels until this fraction of non-empty pixels touch another, up to SPREAD_PX pixels:
#: an isolated cluster is a few screen pixels, never one
SPREAD_THRESHOLD, SPREAD_PX = 0.5, 3
#: columns of a pixel's brightest cluster shown in the pixel hover (numbers: an image's hover reads
#: other columns as arrays of the image's shape)
PIXEL_HOVER = ("id", "z", "snr", "richness")


@dataclass(frozen=True)
class Raster:
    """An aggregate placed on the sky: ``image`` (rows: y, from the bottom) spans x0..x0+dw, y0..y0+dh.

    Empty pixels are NaN (drawn transparent). The image is float32, half the bytes of float64 to
    every browser (a 900 x 450 image: 1.6 MB, not 3.2 MB) and exact for counts below 2**24. ``brightest`` holds, per hover column, the value of
    each pixel's brightest cluster (same shape as ``image``): floats with NaN where there is
    none, but the ``id`` exact (int64 or uint64) with ``named`` marking the pixels that have one.
    """

    image: np.ndarray
    x0: float
    y0: float
    dw: float
    dh: float
    label: str = "objects per pixel"
    brightest: dict[str, np.ndarray] = field(default_factory=dict)
    named: np.ndarray | None = None

    @property
    def limits(self) -> tuple[float, float] | None:
        return colour_limits(self.image)

    def source_data(self) -> dict:
        """The image's ColumnDataSource data (pixel hover columns beside the image)."""
        data = {"image": [self.image], "x": [self.x0], "y": [self.y0], "dw": [self.dw], "dh": [self.dh]}
        for column, values in self.brightest.items():
            if column == "id":
                data |= {name: [half] for name, half in zip(("id_hi", "id_lo"), id_halves(values, self.named))}
            else:
                data[column] = [values]
        return data


def id_halves(ids: np.ndarray, named: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 64-bit id image as its high and low 32 bits, each exact in a float64 (a JavaScript
    number), NaN where no cluster is named; the hover's formatter joins them with BigInt."""
    bits = ids.view(np.uint64) if ids.dtype == np.int64 else ids.astype(np.uint64)
    high, low = (bits >> np.uint64(32)).astype(np.float64), (bits & np.uint64(0xFFFFFFFF)).astype(np.float64)
    high[~named] = np.nan
    return high, low


def colour_limits(image: np.ndarray) -> tuple[float, float] | None:
    """Colour limits every scaling can draw: never low == high (a log bar from 0 to 2 draws nothing)."""
    values = image[np.isfinite(image)]
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = (low / 2, high * 2) if low > 0 else (low - 1, high + 1)
    return low, high


_compiling = threading.Lock()
_compiled = False


def compile_kernels() -> bool:
    """Compile datashader's spreading kernels (every width, counts and means), once per process;
    True if this call did.

    numba compiles each on first use, ~0.2-0.3 s apiece, and it fell on a server's first pans and
    zooms. (The aggregation kernels are compiled per catalog schema: those cannot be made ahead.)
    """
    global _compiled
    with _compiling:
        if _compiled:
            return False
        canvas = ds.Canvas(plot_width=8, plot_height=8, x_range=(0.0, 2.0), y_range=(0.0, 2.0))
        frame = pd.DataFrame({"x": [0.5, 1.5], "y": [0.5, 1.5], "v": [1.0, 2.0]})
        for reduction in (ds.count(), ds.mean("v")):  # uint32 counts (and the pixel hover's keys), float means
            layer = canvas.points(frame, "x", "y", agg=reduction)
            tf.dynspread(layer, threshold=SPREAD_THRESHOLD, max_px=SPREAD_PX, how="max")
            for px in range(1, SPREAD_PX + 1):
                tf.spread(layer, px=px, how="max")
        _compiled = True
        return True


def compile_kernels_in_background() -> None:
    """:func:`compile_kernels` on a thread of its own: a server's first page is not kept waiting for it."""
    if not _compiled:
        threading.Thread(target=compile_kernels, name="vizcache-warm-up", daemon=True).start()


def empty(x_range, y_range) -> Raster:
    (x0, x1), (y0, y1) = x_range, y_range
    return Raster(np.full((1, 1), np.nan, dtype=np.float32), x0, y0, x1 - x0, y1 - y0)


def _clipped(view: tuple[float, float], extent: tuple[float, float]) -> tuple[float, float] | None:
    low, high = max(min(view), extent[0]), min(max(view), extent[1])
    return (low, high) if high > low else None


def rasterize(frame, x: str, y: str, x_range, y_range, extents, column: str | None = None, width: int = 900, height: int = 450,
              brightest_by: str | None = None) -> Raster:
    """``frame``'s rows in the box as a ``width`` x ``height`` image: counts, or the mean of ``column``.

    The box is clipped to the projection's ``extents`` (a zoomed-out view spends no pixels off the
    sky). With ``brightest_by``, each pixel also names its row with the highest ``brightest_by``.
    """
    xs, ys = _clipped(x_range, extents[0]), _clipped(y_range, extents[1])
    if xs is None or ys is None or frame is None:
        return empty(xs or tuple(extents[0]), ys or tuple(extents[1]))
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=xs, y_range=ys)
    reduction = ds.count() if column is None else ds.mean(column)
    # Only the columns drawn: datashader reads a Dask frame's every column's type, and knows no
    # nullable integers (ids with missing values); Dask then reads no other column either.
    agg = canvas.points(frame[[x, y] + ([column] if column else [])], x, y, agg=reduction)
    image = tf.dynspread(agg, threshold=SPREAD_THRESHOLD, max_px=SPREAD_PX, how="max").values.astype(np.float32)
    if column is None:
        image[image == 0] = np.nan  # no rows: transparent, not the bottom of the colour map
    label = "objects per pixel" if column is None else f"mean {column} per pixel"
    hover, named = {}, None
    if brightest_by is not None:
        rows = canvas.points(frame, x, y, agg=ds.where(ds.max(brightest_by))).values
        found = rows >= 0
        brightness = np.full(rows.shape, -np.inf)
        brightness[found] = np.nan_to_num(frame[brightest_by].to_numpy(dtype=float, na_value=np.nan)[rows[found]], nan=-np.inf)
        occupied = agg.values != 0 if column is None else np.isfinite(agg.values)
        rows = _spread_rows(agg, rows, brightness, occupied)
        found = rows >= 0
        for name in (c for c in PIXEL_HOVER if c in frame.columns and c != "id"):
            filled = np.full(rows.shape, np.nan)
            filled[found] = frame[name].to_numpy(dtype=float, na_value=np.nan)[rows[found]]
            hover[name] = filled
        if "id" in frame.columns:
            hover["id"], named = _exact_ids(frame["id"], rows, found)
    return Raster(image, xs[0], ys[0], xs[1] - xs[0], ys[1] - ys[0], label, hover, named)


def _exact_ids(ids: pd.Series, rows: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's brightest row's id, never through a float (Euclid ids pass 2**53), and
    which pixels have one (a row found whose id is not missing)."""
    dtype = np.uint64 if str(ids.dtype).lower().startswith("uint") else np.int64
    values, missing = ids.to_numpy(dtype=dtype, na_value=0), ids.isna().to_numpy()
    exact, named = np.zeros(rows.shape, dtype), found.copy()
    exact[found] = values[rows[found]]
    named[found] = ~missing[rows[found]]
    return exact, named


def _spread_rows(agg, rows: np.ndarray, brightness: np.ndarray, occupied: np.ndarray) -> np.ndarray:
    """Each pixel's brightest row, spread as the image was: a pixel the spreading filled names the
    brightest row within reach, so the whole disc an isolated cluster is drawn as names it.

    The keys spread have the image's empty pixels (dynspread picks the same width from them) and
    grow with brightness (spread with max); an occupied pixel keeps its own row.
    """
    keys = np.zeros(rows.shape, dtype=np.uint32)  # uint32: datashader's spreading leaves 0 as empty
    order = np.flatnonzero(occupied)[np.argsort(brightness[occupied], kind="stable")]
    keys.flat[order] = np.arange(1, len(order) + 1, dtype=np.uint32)
    spread = tf.dynspread(agg.copy(data=keys), threshold=SPREAD_THRESHOLD, max_px=SPREAD_PX, how="max").values
    spread[occupied] = keys[occupied]
    return np.concatenate([[-1], rows.flat[order]])[spread]
