"""Send the rows listed to TOPCAT or Aladin over SAMP, from the page.

SAMP's Web Profile: the page's JavaScript talks to the SAMP hub on the user's machine
(http://localhost:21012, the hub TOPCAT or Aladin runs, which asks the user once whether to accept
"vizcache") and broadcasts ``table.load.votable`` with a URL. The server's only part is that URL: the
rows as a VOTable (exports.py) at ``/vizcache-samp/<64 random hex digits>.vot``, held in memory for
the session that made it (the newest table only, for TABLE_LIFETIME_S). Nothing in a request names a
file: an unknown token is a 404.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

import panel as pn
import param
from tornado.web import HTTPError, RequestHandler

from .exports import listed_table, write
from .text import as_markdown

#: the SAMP Web Profile hub's address (fixed by the standard)
HUB_URL = "http://localhost:21012/"
#: the route serving the tables handed to the hub
ROUTE = r"/vizcache-samp/([0-9a-f]{64})\.vot"
#: seconds a table stays fetchable (the receiving applications fetch it at once)
TABLE_LIFETIME_S = 600.0
#: bytes of a reply from the browser read at most
_REPLY_MAX = 2000

_tables: dict[str, tuple[bytes, float, object]] = {}  # token -> (VOTable, expiry, the session's id)
_lock = threading.Lock()


def publish(votable: bytes, owner: object) -> str:
    """Make ``votable`` fetchable for TABLE_LIFETIME_S at a new unguessable path (the owner's earlier one goes); the path."""
    token = secrets.token_hex(32)
    now = time.monotonic()
    with _lock:
        for old in [t for t, (_, expiry, who) in _tables.items() if who == owner or expiry < now]:
            del _tables[old]
        _tables[token] = (votable, now + TABLE_LIFETIME_S, owner)
    return f"/vizcache-samp/{token}.vot"


def withdraw(owner: object) -> None:
    """Forget the owner's table (its session ended)."""
    with _lock:
        for token in [t for t, (_, _, who) in _tables.items() if who == owner]:
            del _tables[token]


def published(token: str) -> bytes | None:
    """The table at ``token``, if it is still there."""
    with _lock:
        entry = _tables.get(token)
    return entry[0] if entry is not None and entry[1] >= time.monotonic() else None


class TableHandler(RequestHandler):
    """GET /vizcache-samp/<token>.vot: a published table, or 404."""

    def get(self, token: str) -> None:
        body = published(token)
        if body is None:
            raise HTTPError(404)
        self.set_header("Content-Type", "application/x-votable+xml")
        self.set_header("Cache-Control", "no-store")
        self.write(body)


def install_route(application) -> None:
    """Serve ROUTE from this Tornado ``application`` (the Bokeh server's); once."""
    if not getattr(application, "vizcache_samp_route", False):
        application.add_handlers(r".*", [(ROUTE, TableHandler)])  # after Bokeh's own routes: they match first
        application.vizcache_samp_route = True


def _session_application():
    """The Tornado application serving this session, found through its websocket (Bokeh has no public way)."""
    session = pn.state.curdoc.session_context.session if pn.state.curdoc and pn.state.curdoc.session_context else None
    for connection in getattr(session, "_subscribed_connections", ()):
        return connection._socket.application
    return None


# The page's side: XML-RPC to the hub (register once per page, then notifyAll), the outcome written back to `reply`.
_SEND_JS = """
const HUB = __HUB__;
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const enc = (v) => Array.isArray(v) ? "<value><array><data>" + v.map(enc).join("") + "</data></array></value>"
  : (v !== null && typeof v === "object") ? "<value><struct>" + Object.entries(v).map(
      ([k, x]) => "<member><name>" + esc(k) + "</name>" + enc(x) + "</member>").join("") + "</struct></value>"
  : "<value><string>" + esc(String(v)) + "</string></value>";
const dec = (node) => {
  const child = node.firstElementChild;
  if (!child) return node.textContent;
  if (child.tagName === "array") return Array.from(child.querySelector(":scope > data").children).map(dec);
  if (child.tagName === "struct") {
    const out = {};
    for (const m of child.children) out[m.querySelector(":scope > name").textContent] = dec(m.querySelector(":scope > value"));
    return out;
  }
  return child.textContent;
};
const call = async (method, params) => {
  const body = '<?xml version="1.0"?><methodCall><methodName>' + method + "</methodName><params>"
    + params.map((p) => "<param>" + enc(p) + "</param>").join("") + "</params></methodCall>";
  let response;
  try {
    response = await fetch(HUB, {method: "POST", headers: {"Content-Type": "text/xml"}, body: body});
  } catch (error) {
    throw new Error("no SAMP hub answered at " + HUB + ": start TOPCAT or Aladin, then send again");
  }
  const xml = new DOMParser().parseFromString(await response.text(), "text/xml");
  const fault = xml.querySelector("fault > value");
  if (fault) throw new Error("the SAMP hub refused: " + (dec(fault).faultString || "no reason given"));
  return dec(xml.querySelector("params > param > value"));
};
const request = JSON.parse(cb_obj.value);
const send = async (retry) => {
  if (!window.vizcacheSampKey) {
    const registered = await call("samp.webhub.register", [{"samp.name": "vizcache"}]);
    await call("samp.webhub.declareMetadata", [registered["samp.private-key"],
      {"samp.name": "vizcache", "samp.description.text": "vizcache: galaxy-cluster catalogs"}]);
    window.vizcacheSampKey = registered["samp.private-key"];
  }
  const message = {"samp.mtype": "table.load.votable",
    "samp.params": {"url": new URL(request.path, window.location.href).href, "table-id": request.id, "name": request.name}};
  try {
    return await call("samp.webhub.notifyAll", [window.vizcacheSampKey, message]);
  } catch (error) {
    window.vizcacheSampKey = null;  // a hub restarted since: register again, once
    if (retry && !error.message.startsWith("no SAMP hub")) return send(false);
    throw error;
  }
};
send(true).then((clients) => { reply.value = JSON.stringify({nonce: request.nonce, clients: clients.length}); },
                (error) => { reply.value = JSON.stringify({nonce: request.nonce, error: error.message}); });
"""


class SampSender(pn.viewable.Viewer):
    """A "Send to TOPCAT / Aladin" button for a table's rows listed (its selection, or the rows in view).

    >>> SampSender(table=skymap.table).send()  # the path of the VOTable the page hands to the hub
    """

    table = param.ClassSelector(class_=pn.viewable.Viewer, constant=True, doc="The TableView whose rows listed are sent.")
    sent = param.Integer(default=0, bounds=(0, None), doc="Tables handed to the hub from this page so far.")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.button = pn.widgets.Button(label="Send to TOPCAT / Aladin", width=190,
                                        description="Send the rows listed (the selection, or the rows in view) over SAMP to the "
                                                    "applications on your machine (TOPCAT, Aladin): start one first")
        self.button.on_click(lambda _: self.send())
        # server -> page (what to send) and page -> server (what the hub said); hidden, never typed in
        self._request = pn.widgets.TextInput(visible=False)
        self._reply = pn.widgets.TextInput(visible=False)
        self._request.jscallback(value=_SEND_JS.replace("__HUB__", json.dumps(HUB_URL)), args={"reply": self._reply})
        self._reply.param.watch(self._answered, "value")
        self.status = pn.pane.Markdown("", margin=(0, 10))
        self._owner = object()
        self._expected: tuple[int, int, str] | None = None  # (nonce, rows, "selected" | "in view") of the last send
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            # Panel's jscallback registry (weak keys) holds the callback, whose `reply` leads back to this sender,
            # its _request key and the session's sky map: the entry must go with the session, or every session leaks.
            pn.state.on_session_destroyed(lambda _context: (withdraw(self._owner), pn.links.Callback.registry.pop(self._request, None)))

    def send(self) -> str | None:
        """Publish the rows listed as a VOTable and have the page hand its URL to the hub; the URL's path (None: nothing listed)."""
        exported = listed_table(self.table)
        if exported is None or len(exported) == 0:
            self.status.object = "Nothing to send: no rows listed."
            return None
        application = _session_application()
        if application is None:  # a notebook's or a test's map: no server of ours that TOPCAT could fetch from
            self.status.object = "Not sent: only a served viewer (vizcache serve) can hand tables to SAMP applications."
            return None
        install_route(application)
        what = "selected" if self.table.selecting else "in view"
        path = publish(write(exported, "VOTable").getvalue(), self._owner)
        self.sent += 1
        name = f"{exported.meta['catalog']} ({len(exported):,} {what})"
        self._expected = (self.sent, len(exported), what)
        self.status.object = "Sending ..."
        self._request.value = json.dumps({"path": path, "id": f"vizcache-{self.sent}", "name": name, "nonce": self.sent})
        return path

    def _answered(self, event) -> None:
        if self._expected is None:
            return
        nonce, rows, what = self._expected
        try:
            reply = json.loads(str(event.new)[:_REPLY_MAX])
        except ValueError:
            return
        if not isinstance(reply, dict) or reply.get("nonce") != nonce:
            return  # an answer to an earlier send
        if "error" in reply:
            self.status.object = as_markdown(f"Not sent: {reply['error']}")
        else:
            clients = reply.get("clients")
            self.status.object = as_markdown(f"Sent {rows:,} {'row' if rows == 1 else 'rows'} {what} to {clients} SAMP "
                                             f"{'application' if clients == 1 else 'applications'}.")

    def __panel__(self):
        return pn.Row(self.button, self.status, self._request, self._reply)
