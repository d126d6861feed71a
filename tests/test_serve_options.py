"""`vizcache serve`'s team options: what reaches `panel serve` (and how), and one line for each bad value."""

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from vizcache.cli import build_parser, main
from vizcache.viewer.serve_command import check_options, group_running, panel_command

from .ports import free_port
from .waiting import wait_until

SECRET = "s" * 44  # the length `panel secret` writes
KEY = "kHqGX4v8QyP7n3aL0cRz9tW2eB5mJ1sD6fU8iO4pYxE="  # 32 url-safe base64 bytes, as `panel oauth-secret` writes


PREFIX_RULE = "is not allowed: use a URL path such as team or /team/ (letters, digits, . _ ~ - between slashes)"
SHORT = "has 5 characters: use at least 32 random ones (`panel secret` makes one)"
BOTH = "are both set: give one"
OAUTH = ["--oauth-provider", "github", "--oauth-key", "id"]
OAUTH_ENV = {"PANEL_OAUTH_SECRET": "x", "PANEL_COOKIE_SECRET": SECRET}


def parse(*argv: str):
    return build_parser().parse_args(["serve", *argv])


def test_team_options_reach_panel_serve_and_secrets_go_as_panels_environment_variables():
    args = parse("--prefix", "/team/", "--use-xheaders", "--num-threads", "8", "--num-procs", "2", "--cookie-secret", SECRET,
                 "--oauth-provider", "github", "--oauth-key", "client-id", "--oauth-secret", "client-secret",
                 "--oauth-extra-params", "{'scope': 'read:user'}", "--oauth-redirect-uri", "https://viewer.example.org/team/")
    env = check_options(args, {})
    command = panel_command(args, Path("/app/viewer.py"))
    flags = {a: command[i + 1] for i, a in enumerate(command[:-1]) if a.startswith("--")}
    assert flags["--prefix"] == "team" and "--use-xheaders" in command and flags["--num-threads"] == "8"
    assert flags["--num-procs"] == "2" and flags["--plugins"] == "vizcache.live.routes"
    assert (flags["--oauth-provider"], flags["--oauth-key"]) == ("github", "client-id")
    assert flags["--oauth-extra-params"] == "{'scope': 'read:user'}" and flags["--oauth-redirect-uri"] == "https://viewer.example.org/team/"
    assert SECRET not in command and "client-secret" not in command and "--cookie-secret" not in command
    assert env == {"PANEL_COOKIE_SECRET": SECRET, "PANEL_OAUTH_SECRET": "client-secret", "VIZCACHE_PROCESSES": "2"}


def test_defaults_are_four_threads_no_prefix_and_the_process_count_for_auto():
    args = parse()
    command = panel_command(args, Path("/app/viewer.py"))
    assert command[command.index("--num-threads") + 1] == "4" and "--prefix" not in command and "--use-xheaders" not in command
    assert check_options(args, {}) == {"VIZCACHE_PROCESSES": "1"}
    # all the processes on the machine (two `vizcache serve` behind one proxy) count, when the environment says so
    assert check_options(parse("--num-procs", "2"), {"VIZCACHE_PROCESSES": "4"}) == {"VIZCACHE_PROCESSES": "4"}


def test_secrets_from_panels_environment_variables_reach_the_server_unchanged():
    environ = {"PANEL_COOKIE_SECRET": SECRET, "PANEL_OAUTH_PROVIDER": "gitlab", "PANEL_OAUTH_KEY": "id", "PANEL_OAUTH_SECRET": "x"}
    args = parse()
    assert check_options(args, environ) == {"VIZCACHE_PROCESSES": "1"}  # nothing added: the server inherits them
    assert not any(v in panel_command(args, Path("/app/viewer.py")) for v in environ.values())


@pytest.mark.parametrize(("argv", "environ", "expected"), [
    (["--num-threads", "0"], {}, "--num-threads '0' is not allowed: use a whole number from 1 to 64"),
    (["--num-threads", "four"], {}, "--num-threads 'four' is not allowed: use a whole number from 1 to 64"),
    (["--prefix", "../etc"], {}, f"--prefix '../etc' {PREFIX_RULE}"),
    (["--prefix", "team x"], {}, f"--prefix 'team x' {PREFIX_RULE}"),
    (["--prefix", "a/./b"], {}, f"--prefix 'a/./b' {PREFIX_RULE}"),
    (["--cookie-secret", "short"], {}, f"--cookie-secret {SHORT}"),
    (["--cookie-secret", ""], {}, "--cookie-secret has 0 characters: use at least 32 random ones (`panel secret` makes one)"),
    ([], {"PANEL_COOKIE_SECRET": "short"}, f"the cookie secret in the environment {SHORT}"),
    (["--cookie-secret", SECRET], {"PANEL_COOKIE_SECRET": SECRET}, f"--cookie-secret and the environment variable PANEL_COOKIE_SECRET {BOTH}"),
    (["--cookie-secret", SECRET], {"BOKEH_COOKIE_SECRET": SECRET}, f"--cookie-secret and the environment variable BOKEH_COOKIE_SECRET {BOTH}"),
    (["--oauth-key", "id"], {}, "--oauth-key needs --oauth-provider (or PANEL_OAUTH_PROVIDER)"),
    (["--oauth-provider", "myspace"], {}, "--oauth-provider 'myspace' is not allowed: use one of "),
    (["--oauth-provider", "github", "--oauth-secret", "x"], {"PANEL_COOKIE_SECRET": SECRET},
     "--oauth-provider github needs the client's key: --oauth-key or PANEL_OAUTH_KEY"),
    (["--oauth-provider", "github", "--oauth-key", "id"], {"PANEL_COOKIE_SECRET": SECRET},
     "--oauth-provider github needs the client's secret: --oauth-secret or PANEL_OAUTH_SECRET"),
    (["--oauth-provider", "github", "--oauth-key", "id"], {"PANEL_OAUTH_SECRET": "x"},
     "--oauth-provider github needs a cookie secret: PANEL_COOKIE_SECRET (or --cookie-secret)"),
    ([*OAUTH, "--oauth-extra-params", "tenant=ID"], OAUTH_ENV,
     "--oauth-extra-params 'tenant=ID' is not allowed: use a Python dict such as \"{'tenant': 'ID'}\""),
    ([*OAUTH, "--oauth-redirect-uri", "viewer.example.org"], OAUTH_ENV,
     "--oauth-redirect-uri 'viewer.example.org' is not allowed: use the viewer's public http(s) URL"),
    ([*OAUTH, "--oauth-encryption-key", "not-a-key"], OAUTH_ENV,
     "the OAuth encryption key is not 32 url-safe base64 bytes: make one with `panel oauth-secret`"),
    (["--oauth-provider", "github"], {"PANEL_OAUTH_PROVIDER": "gitlab"},
     f"--oauth-provider and the environment variable PANEL_OAUTH_PROVIDER {BOTH}"),
    (["--num-procs", "2"], {"VIZCACHE_PROCESSES": "two"},
     "environment variable VIZCACHE_PROCESSES='two' is not allowed: use a whole number of server processes from 1 to 64"),
    (["--num-procs", "4"], {"VIZCACHE_PROCESSES": "2"}, "environment variable VIZCACHE_PROCESSES=2 counts fewer server processes than --num-procs 4: "
                                                        "set it to all the processes sharing this machine's memory, or unset it"),
])
def test_a_bad_value_is_one_line_naming_it_and_what_is_allowed(argv, environ, expected, monkeypatch, capsys):
    for variable in ("PANEL_COOKIE_SECRET", "BOKEH_COOKIE_SECRET", "PANEL_OAUTH_PROVIDER", "PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET",
                     "PANEL_OAUTH_ENCRYPTION", "PANEL_OAUTH_EXTRA_PARAMS", "PANEL_OAUTH_REDIRECT_URI", "VIZCACHE_PROCESSES"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environ.items():
        monkeypatch.setenv(variable, value)
    assert main(["serve", *argv]) == 2  # refused before any server starts
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vizcache: error: " + expected), err
    assert SECRET not in err and KEY not in err  # a secret is never echoed


def test_an_oauth_server_sends_visitors_to_the_provider_and_keeps_secrets_off_its_command_line(tmp_path):
    """Real `vizcache serve` with --prefix and GitHub OAuth: the page redirects to the login, the login to GitHub
    with the client id; the client secret and cookie secret are in the server's environment, not its command line."""
    import psutil

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANEL_", "BOKEH_", "VIZCACHE_"))} | {"PANEL_COOKIE_SECRET": SECRET}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "vizcache.cli", "serve", "--port", str(port), "--prefix", "team", "--num-threads", "2",
                             "--oauth-provider", "github", "--oauth-key", "client-id", "--oauth-secret", "client-secret-value"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    opener = urllib.request.build_opener(NoRedirect)
    group = None
    try:
        def location(path: str) -> str:
            try:
                opener.open(f"http://127.0.0.1:{port}{path}", timeout=30)
            except urllib.error.HTTPError as redirect:
                return redirect.headers["Location"] if redirect.code == 302 else ""
            return ""

        assert wait_until(lambda: location("/team/viewer"), timeout=120, ignore=(OSError,), message="the page redirecting") == \
            "./login?next=%2Fteam%2Fviewer"
        github = location("/team/login")
        assert github.startswith("https://github.com/login/oauth/authorize?") and "client_id=client-id" in github
        server = next(p for p in psutil.Process(proc.pid).children() if "panel" in p.cmdline())
        group = os.getpgid(server.pid)  # its own process group, which vizcache serve ends on SIGTERM
        assert server.cmdline()[server.cmdline().index("--num-threads") + 1] == "2"
        assert not any("client-secret-value" in a or SECRET in a for a in server.cmdline())
        assert server.environ()["PANEL_OAUTH_SECRET"] == "client-secret-value" and server.environ()["PANEL_COOKIE_SECRET"] == SECRET
        assert server.environ()["ARROW_DEFAULT_MEMORY_POOL"] == "system"  # loads through the system allocator
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        log.close()
    assert group is not None
    wait_until(lambda: not group_running(group), timeout=15, message="the server's process group gone")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
