"""Filters that say what they drop (rows without a redshift kept unless told), and labels that say what is shown."""

import numpy as np
import panel as pn
import pytest

from vizcache.config import load_config
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap

from ..catalogs.conftest import write_config
from ..catalogs.psz2 import PSZ2_MAPPING, write_psz2


pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


def rows_in_view(sky):
    frame, mask = sky.view
    return len(frame) if mask is None else int(mask.sum())


def test_unknown_redshifts_are_kept_by_default_and_dropped_on_request(tmp_path):
    truth = write_psz2(tmp_path / "psz2.fits")
    runtime = ViewerRuntime(load_config(write_config(tmp_path / "c.toml", PSZ2_MAPPING)), sample_every=60)
    sky = SkyMap(runtime=runtime, served=False)
    unknown = int((truth["z"] < 0).sum())
    in_range = int(((truth["z"] >= 0) & (truth["z"] <= 0.5)).sum())
    sky.z_range = (0.0, 0.5)
    assert rows_in_view(sky) == in_range + unknown
    mask = sky.row_filter().mask(sky.frame)
    drawn = sky.frame if mask is None else sky.frame[mask]  # the rows the map's image aggregates
    assert len(drawn) == in_range + unknown  # the map draws what the table counts
    sky.keep_unknown_z = False
    assert rows_in_view(sky) == in_range
    assert np.isfinite(sky.view[0]["z"].to_numpy()[sky.view[1]]).all()


def test_labels_read_as_words():
    assert SkyMap.param.snr_range.label == "SNR range" and SkyMap.param.cmap.label == "Colour map"
    # One spelling in the sidebar: the colour controls all say "Colour".
    assert [SkyMap.param[n].label for n in ("color_by", "cmap", "color_scaling")] == ["Colour by", "Colour map", "Colour scaling"]


def test_the_map_names_the_catalog_shown(tmp_path):
    write_psz2(tmp_path / "psz2.fits")
    runtime = ViewerRuntime(load_config(write_config(tmp_path / "c.toml", PSZ2_MAPPING)), sample_every=60)
    sky = SkyMap(runtime=runtime, served=False, color_by="mean SNR")
    assert sky.map.figure.figure.title.text == "PSZ2: mean SNR"
    sky.color_by = "density"
    assert sky.map.figure.figure.title.text == "PSZ2: density"


def test_no_member_switch_without_a_members_catalog(tmp_path):
    write_psz2(tmp_path / "psz2.fits")
    runtime = ViewerRuntime(load_config(write_config(tmp_path / "c.toml", PSZ2_MAPPING)), sample_every=60)
    controls = SkyMap(runtime=runtime, served=False).controls()
    shown = [name for part in controls if isinstance(part, pn.Param) for name in part.parameters]
    assert "show_members" not in shown and {"z_range", "snr_range", "where", "projection"} <= set(shown)
