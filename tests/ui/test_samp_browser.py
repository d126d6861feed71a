"""SAMP in a real browser: "Send to TOPCAT / Aladin" reaches a Web Profile hub (astropy's, on localhost:21012)
from the page, and a client standing in for TOPCAT receives table.load.votable and reads the same rows."""

import queue
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from astropy.samp import SAMPHubServer, SAMPIntegratedClient
from astropy.samp.hub import WebProfileDialog
from astropy.table import Table

from vizcache.catalogs.schema import EUCLID_COLUMNS

from ..waiting import wait_until
from .bokeh_map import select_markers, set_view, wait_for_map, wait_for_markers

pytestmark = pytest.mark.ui
SOURCE = EUCLID_COLUMNS["clusters"]


class Consent(WebProfileDialog):
    """The hub's "accept this web page?" dialog, answered yes (the user clicking Yes in TOPCAT's)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.stop = threading.Event()

    def show_dialog(self, samp_name, details, client, origin) -> None:
        self.asked.append(origin)
        self.consent()

    def poll(self) -> None:
        while not self.stop.is_set():
            self.handle_queue()
            self.stop.wait(0.05)


@pytest.fixture
def hub(tmp_path):
    """A SAMP hub with the Web Profile on localhost:21012 (the standard's port) and a client that takes tables."""
    consent = Consent()
    server = SAMPHubServer(web_profile=True, web_profile_dialog=consent, lockfile=str(tmp_path / "samp-lock"), mode="single")
    server.start()
    threading.Thread(target=consent.poll, daemon=True).start()
    client = SAMPIntegratedClient(name="TOPCAT stand-in")
    client.connect(hub=server)
    received: queue.Queue = queue.Queue()

    def receive(private_key, sender_id, mtype, params, extra):
        received.put(params)

    client.bind_receive_notification("table.load.votable", receive)
    client.received, client.consent = received, consent
    yield client
    client.disconnect()
    server.stop()
    consent.stop.set()


def test_send_to_topcat_hands_the_selection_to_a_samp_client(viewer_data, served_viewer, page, hub):
    page.route("http://localhost:21012/**", lambda route: route.continue_())  # the hub on this machine: allowed, as in a user's browser
    both = pd.read_parquet(Path(viewer_data) / "data" / "small" / "both.parquet")
    inside = both[both[SOURCE["ra"]].between(40, 60) & both[SOURCE["dec"]].between(-60, -45)]
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    wait_for_map(page)
    set_view(page, (40, 60), (-60, -45))
    page.get_by_text(f"{len(inside):,} rows in view").wait_for(timeout=30_000)
    # the rows in view
    page.get_by_role("button", name="Send to TOPCAT / Aladin").click()
    # wait in the page: playwright's routes, which let the requests to the hub through, run only while it waits
    page.get_by_text(f"Sent {len(inside):,} rows in view to 1 SAMP application.").wait_for(timeout=30_000)
    params = hub.received.get(timeout=10)
    assert hub.consent.asked == [served_viewer.split("/viewer")[0]]  # the hub was asked once, for this page's origin
    url = params["url"]
    assert url.startswith(served_viewer.split("/viewer")[0] + "/vizcache-samp/") and url.endswith(".vot")
    table = Table.read(url, format="votable")
    assert sorted(table[SOURCE["id"]].tolist()) == sorted(inside[SOURCE["id"]].tolist())
    assert table[SOURCE["ra"]].unit == "deg" and params["name"] == f"BOTH ({len(inside):,} in view)"
    # the selection: a second send replaces the first table (its URL is gone)
    data = wait_for_markers(page, lambda d: len(d.get("object", [])) == len(inside))
    select_markers(page, [0, 2, 3])
    page.get_by_text("3 rows selected").wait_for(timeout=20_000)
    page.get_by_role("button", name="Send to TOPCAT / Aladin").click()
    page.get_by_text("Sent 3 rows selected to 1 SAMP application.").wait_for(timeout=30_000)
    second = hub.received.get(timeout=10)
    selected = {int(data["object"][i].split()[-1]) for i in (0, 2, 3)}
    assert set(Table.read(second["url"], format="votable")[SOURCE["id"]].tolist()) == selected
    assert hub.consent.asked == [served_viewer.split("/viewer")[0]]  # registered once per page
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(url, timeout=10)
    # nothing but a published token is served: no file path, no other name
    base = served_viewer.split("/viewer")[0] + "/vizcache-samp/"
    for probe in ("0" * 64 + ".vot", "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "x.vot"):
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(base + probe, timeout=10)


def test_without_a_hub_the_page_says_so(served_viewer, page):
    page.route("http://localhost:21012/**", lambda route: route.continue_())
    page.goto(served_viewer, timeout=120_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Send to TOPCAT / Aladin").click()
    message = page.get_by_text("Not sent: no SAMP hub answered at http://localhost:21012/", exact=False)
    wait_until(lambda: message.count() == 1, timeout=30, message="the no-hub message")
