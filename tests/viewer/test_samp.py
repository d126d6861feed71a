"""The server's side of SAMP: the rows listed published as a VOTable at a random path, one per sender, for a while."""

import io
import json
import re

import pytest
from astropy.table import Table

from vizcache.config import load_config
from vizcache.viewer import samp
from vizcache.viewer.runtime import ViewerRuntime
from vizcache.viewer.skymap import SkyMap
from vizcache.viewer.text import as_markdown

from .conftest import make_config

pytestmark = pytest.mark.usefixtures("no_served_document")  # see conftest


class Application:
    """Stands in for the Bokeh server's Tornado application: records the routes added."""

    def __init__(self) -> None:
        self.routes = []

    def add_handlers(self, host, handlers) -> None:
        self.routes.append((host, handlers))


@pytest.fixture
def application(monkeypatch):
    app = Application()
    monkeypatch.setattr(samp, "_session_application", lambda: app)
    return app


@pytest.fixture
def sky(viewer_data, application):
    return SkyMap(runtime=ViewerRuntime(load_config(make_config(viewer_data)), sample_every=60), served=False)


def token_of(path: str) -> str:
    match = re.fullmatch(samp.ROUTE, path)
    assert match, path
    return match.group(1)


def test_send_publishes_the_rows_listed_and_asks_the_page_to_hand_them_over(sky, application):
    sky.set_view_ranges((40.0, 60.0), (-60.0, -45.0))
    sender = samp.SampSender(table=sky.table)
    path = sender.send()
    table = Table.read(io.BytesIO(samp.published(token_of(path))), format="votable")
    assert table["ID_UNIQUE_CLUSTER"].tolist() == sky.table.listed()["id"].tolist()
    request = json.loads(sender._request.value)  # what the page's JavaScript gets: a path on this server, no file
    assert request == {"path": path, "id": "vizcache-1", "name": f"BOTH ({len(table):,} in view)", "nonce": 1}
    # a second send replaces the first table; the route is added once
    second = sender.send()
    assert samp.published(token_of(path)) is None and samp.published(token_of(second)) is not None
    assert application.routes == [(r".*", [(samp.ROUTE, samp.TableHandler)])]
    samp.withdraw(sender._owner)  # the session ended
    assert samp.published(token_of(second)) is None


def test_tables_expire(sky, monkeypatch):
    path = samp.SampSender(table=sky.table).send()
    later = samp.time.monotonic() + samp.TABLE_LIFETIME_S + 1
    monkeypatch.setattr(samp.time, "monotonic", lambda: later)
    assert samp.published(token_of(path)) is None


def test_the_pages_answer_is_shown_as_text_and_stale_answers_are_ignored(sky):
    sender = samp.SampSender(table=sky.table)
    sender._reply.value = json.dumps({"nonce": 1, "clients": 1})  # before any send: ignored
    assert sender.status.object == ""
    sender.send()
    sender._reply.value = json.dumps({"nonce": 0, "clients": 3})  # an answer to an earlier send
    assert sender.status.object == "Sending ..."
    sender._reply.value = json.dumps({"nonce": 1, "error": "the SAMP hub refused: <b>*no*</b>"})
    assert sender.status.object == r"Not sent: the SAMP hub refused: &lt;b&gt;\*no\*&lt;/b&gt;"  # markdown and HTML escaped
    sender.send()
    sender._reply.value = "not json"  # ignored: the status still says what is under way
    assert sender.status.object == "Sending ..."
    sender._reply.value = json.dumps({"nonce": 2, "clients": 2})
    assert sender.status.object == as_markdown(f"Sent {len(sky.table.listed()):,} rows in view to 2 SAMP applications.")


def test_nothing_listed_is_nothing_sent(sky):
    sky.set_view_ranges((300.0, 301.0), (80.0, 81.0))  # no cluster there
    sender = samp.SampSender(table=sky.table)
    assert sender.send() is None and sender.status.object == "Nothing to send: no rows listed."


def test_without_a_server_nothing_is_published(sky, monkeypatch):
    monkeypatch.setattr(samp, "_session_application", lambda: None)
    sender = samp.SampSender(table=sky.table)
    assert sender.send() is None and sender.status.object.startswith("Not sent: only a served viewer")
