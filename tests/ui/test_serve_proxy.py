"""The team set-up of docs/deployment.md for real: Debian's nginx, run from a temporary prefix, in front of two
`vizcache serve --prefix team --use-xheaders` processes with sticky sessions and websocket upgrade; chromium opens
the viewer through nginx, the map renders and a catalog switch goes through the websocket, on each server."""

import os
import shutil
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from vizcache.viewer.serve_command import group_running

from ..ports import free_port, wait_for_port
from ..viewer.conftest import make_config
from ..waiting import wait_until
from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.ui
NGINX = "/usr/sbin/nginx"

#: the nginx.conf of docs/deployment.md, with the paths of a temporary prefix so that it runs without root
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    # sticky sessions: a browser's first request picks a server by its request id, a cookie keeps it there
    map $cookie_vizcache_route $vizcache_route {{ "" $request_id; default $cookie_vizcache_route; }}
    upstream vizcache {{
        hash $vizcache_route consistent;
        server 127.0.0.1:{port_a};
        server 127.0.0.1:{port_b};
    }}
    server {{
        listen 127.0.0.1:{port};
        location /team/ {{
            proxy_pass http://vizcache;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1h;
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_max_temp_file_size 0;
            add_header Set-Cookie "vizcache_route=$vizcache_route; Path=/team/; HttpOnly; SameSite=Lax" always;
            add_header X-Vizcache-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def serving_processes(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def team(viewer_data, tmp_path):
    """nginx on a free port in front of two `vizcache serve` processes; yields (nginx URL, {port: server}); all stopped after."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} is missing: install Debian's nginx (bash .ci/run does)")
    config = make_config(viewer_data, f"proxy-{tmp_path.name}.toml")
    port, ports = free_port(), [free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANEL_", "BOKEH_"))} | {"VIZCACHE_PROCESSES": "2"}
    servers, logs = {}, []
    nginx = None
    try:
        for p in ports:
            logs.append((tmp_path / f"server-{p}.log").open("w"))
            servers[p] = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--config", str(config), "--port", str(p),
                                           "--prefix", "team", "--use-xheaders", "--allow-websocket-origin", f"127.0.0.1:{port}"],
                                          env=env, stdout=logs[-1], stderr=subprocess.STDOUT, cwd=tmp_path)
        prefix = tmp_path / "nginx"
        (prefix / "tmp").mkdir(parents=True)
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=prefix, port=port, port_a=ports[0], port_b=ports[1]))
        nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for p in [port, *ports]:
            wait_for_port(p, timeout=120)
        yield f"http://127.0.0.1:{port}", servers
    finally:
        groups = {p: os.getpgid(child.pid) for p, proc in servers.items() for child in serving_processes(proc)[:1]}
        for proc in servers.values():
            proc.send_signal(signal.SIGTERM)
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)  # graceful: the master ends its workers, then itself
            assert nginx.wait(timeout=30) == 0
        assert all(proc.wait(timeout=30) == 0 for proc in servers.values())
        for log in logs:
            log.close()
        # no orphans: each `panel serve` ran in its own process group, which vizcache serve ended
        wait_until(lambda: not any(group_running(g) for g in groups.values()), timeout=15, message="every server process group gone")
        shutil.rmtree(tmp_path / "nginx" / "tmp", ignore_errors=True)


def upstream_of(base: str, route: str) -> int:
    """The server nginx sends a browser with cookie ``vizcache_route=route`` to (a static file: no session is made)."""
    request = urllib.request.Request(f"{base}/team/static/js/bokeh.min.js", method="HEAD", headers={"Cookie": f"vizcache_route={route}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.headers["X-Vizcache-Upstream"].rsplit(":", 1)[1])


def map_title(page) -> str | None:
    """The sky map's title (it names the catalog) once the map has an image; None before."""
    return page.evaluate("""(() => {
if (!window.Bokeh || !Bokeh.documents.length) return null;
for (const m of Bokeh.documents[0].all_models)
  if (m.constructor.__name__ === 'Figure' && m.title && m.title.text
      && m.renderers.some(r => r.glyph && r.glyph.constructor.__name__ === 'Image' && r.data_source.data.image.length))
    return m.title.text;
return null;})()""")


def wait_for_map(page, catalog: str) -> str:
    return wait_until(lambda: (title := map_title(page)) and title.startswith(f"{catalog}:") and title, timeout=90, interval=0.2,
                      message=f"the map drawn with {catalog}")


def open_and_switch(browser, url: str, cookie: str | None) -> tuple[set[int], str]:
    """Open the viewer in a fresh browser context (with a route cookie, or none), check the map draws and that
    switching to PZWAV redraws it; the servers that answered and the route cookie the context ends with."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    if cookie is not None:
        context.add_cookies([{"name": "vizcache_route", "value": cookie, "url": url}])
    page = context.new_page()
    upstreams = set()
    page.on("response", lambda r: "/team/" in r.url and upstreams.add(int(r.headers["x-vizcache-upstream"].rsplit(":", 1)[1])))
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(url + "/team/viewer")
    wait_for_map(page, "BOTH")  # the config's first catalog, drawn
    page.get_by_role("button", name="PZWAV", exact=True).click()  # over the websocket, through nginx
    wait_for_map(page, "PZWAV")
    assert sockets and all(s.startswith(url.replace("http", "ws") + "/team/viewer/ws") for s in sockets), sockets
    route = next(c["value"] for c in context.cookies() if c["name"] == "vizcache_route")
    context.close()
    return upstreams, route


def loads(port: int) -> int:
    """Catalog loads on the server at ``port``, from its own /vizcache/metrics (behind the prefix, not through nginx)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/team/vizcache/metrics", timeout=30) as response:
        text = response.read().decode()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("vizcache_loads_total ")))


def test_two_servers_behind_nginx_with_a_prefix_sticky_sessions_and_websockets(team):
    from playwright.sync_api import sync_playwright

    base, servers = team
    routes = {}  # a route cookie for each server: nginx's consistent hash decides, the test only asks it
    for i in range(64):
        routes.setdefault(upstream_of(base, f"probe-{i}"), f"probe-{i}")
        if len(routes) == 2:
            break
    assert set(routes) == set(servers), routes
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            first, route = open_and_switch(browser, base, None)  # a new visitor: nginx picks a server, the cookie keeps it
            assert len(first) == 1 and upstream_of(base, route) in first, (first, route)
            other = next(p for p in servers if p not in first)
            second, _ = open_and_switch(browser, base, routes[other])
            assert second == {other}
        finally:
            browser.close()
    assert all(loads(p) == 2 for p in servers)  # on each server: the first catalog, then PZWAV for its session
