"""``vizcache serve``: the packaged viewer on ``panel serve``, for one person or for a team behind a reverse proxy.

Everything is checked before the server starts: a bad value is one line naming the option (or the
environment variable) and what is allowed, never a traceback from Panel halfway through starting.
Secrets given on the command line reach the server as Panel's own environment variables, so they are
not in the server processes' command lines; giving them as those variables in the first place
(``PANEL_COOKIE_SECRET``, ``PANEL_OAUTH_SECRET``, ...) keeps them out of ``vizcache serve``'s too.
docs/deployment.md has the team set-up (nginx, Traefik, processes and containers).
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import re
import sys
import time
from pathlib import Path

from ..config_file import ConfigError
from ..memory import ENV_PROCESSES, MAX_PROCESSES, server_processes

#: options that carry a secret -> Panel's environment variable for it (how they reach the server)
SECRET_OPTIONS = {"cookie_secret": "PANEL_COOKIE_SECRET", "oauth_secret": "PANEL_OAUTH_SECRET",
                  "oauth_encryption_key": "PANEL_OAUTH_ENCRYPTION"}
#: the other OAuth options -> Panel's variable (an option and its variable both set: Panel refuses, or lets the variable win)
OAUTH_OPTIONS = {"oauth_provider": "PANEL_OAUTH_PROVIDER", "oauth_key": "PANEL_OAUTH_KEY", "oauth_secret": "PANEL_OAUTH_SECRET",
                 "oauth_extra_params": "PANEL_OAUTH_EXTRA_PARAMS", "oauth_encryption_key": "PANEL_OAUTH_ENCRYPTION",
                 "oauth_redirect_uri": "PANEL_OAUTH_REDIRECT_URI"}
ENV_NAMES = {**OAUTH_OPTIONS, **SECRET_OPTIONS}
#: a cookie secret shorter than this is guessable; `panel secret` writes 44 characters
MIN_COOKIE_SECRET = 32
MAX_THREADS = 64
_PREFIX = re.compile(r"/?[A-Za-z0-9_~-][A-Za-z0-9._~-]*(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?")
_ENV_HELP = "better given as the environment variable {} (kept out of the process list)"


def option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def add_parser(sub) -> None:
    """``vizcache serve`` and its options, on the ``vizcache`` command's subparsers."""
    serve = sub.add_parser("serve", help="serve the viewer (a thin wrapper around `panel serve`)",
                           description="Serve the viewer at /viewer (PREFIX/viewer with --prefix). Team set-up behind nginx or "
                                       "Traefik: docs/deployment.md.")
    serve.add_argument("--config", help="TOML config (default: $VIZCACHE_CONFIG, else the built-in default)")
    serve.add_argument("--port", type=int, default=5006, help="port to serve on (default 5006)")
    serve.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a team)")
    serve.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]",
                       help="host name the team's browsers use to reach the server (repeatable); needed with --address 0.0.0.0 "
                            "and behind a proxy (the proxy's public host)")
    serve.add_argument("--num-procs", type=int, default=1, choices=range(1, MAX_PROCESSES + 1), metavar="N",
                       help=f"server processes (default 1, 1-{MAX_PROCESSES}); each has its own cache, and limit = \"auto\" "
                            f"gives each 1/N of the memory (${ENV_PROCESSES}, if set, counts all processes on the machine)")
    serve.add_argument("--num-threads", default="4", metavar="N",
                       help=f"threads per process that run sessions' callbacks (default 4, 1-{MAX_THREADS})")
    serve.add_argument("--prefix", metavar="PATH", help="URL path the viewer is served under, e.g. team: /team/viewer (behind a "
                                                        "proxy that forwards /team/ unchanged)")
    serve.add_argument("--use-xheaders", action="store_true",
                       help="trust X-Real-Ip / X-Forwarded-For / X-Forwarded-Proto from the reverse proxy (only behind one)")
    serve.add_argument("--cookie-secret", metavar="SECRET", help=f"secret signing cookies, at least {MIN_COOKIE_SECRET} characters "
                       f"(`panel secret` makes one), the same for every process; needed for OAuth; "
                       + _ENV_HELP.format("PANEL_COOKIE_SECRET"))
    serve.add_argument("--oauth-provider", metavar="NAME", help="Panel OAuth provider: github, gitlab, google, azure, okta, generic, "
                                                                "... (or PANEL_OAUTH_PROVIDER)")
    serve.add_argument("--oauth-key", metavar="KEY", help="the OAuth client id (or PANEL_OAUTH_KEY)")
    serve.add_argument("--oauth-secret", metavar="SECRET", help="the OAuth client secret; " + _ENV_HELP.format("PANEL_OAUTH_SECRET"))
    serve.add_argument("--oauth-extra-params", metavar="DICT",
                       help="provider settings as a Python dict, e.g. \"{'tenant': 'ID'}\" (or PANEL_OAUTH_EXTRA_PARAMS)")
    serve.add_argument("--oauth-encryption-key", metavar="KEY", help="key encrypting the user's tokens in cookies, 32 url-safe "
                       "base64 bytes (`panel oauth-secret` makes one; needs the cryptography package); "
                       + _ENV_HELP.format("PANEL_OAUTH_ENCRYPTION"))
    serve.add_argument("--oauth-redirect-uri", metavar="URL", help="the public URL the provider sends users back to, e.g. "
                                                                   "https://viewer.example.org/team/ (or PANEL_OAUTH_REDIRECT_URI)")
    serve.add_argument("--show", action="store_true", help="open a browser tab")
    serve.set_defaults(func=cmd_serve)


def check_options(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """Refuse bad values (ConfigError, one line); the environment variables the server gets on top of ``environ``."""
    if not (args.num_threads.isascii() and args.num_threads.isdigit() and 1 <= int(args.num_threads) <= MAX_THREADS):
        raise ConfigError(f"--num-threads {args.num_threads!r} is not allowed: use a whole number from 1 to {MAX_THREADS}")
    if args.prefix is not None and not (_PREFIX.fullmatch(args.prefix) and "/./" not in f"/{args.prefix}/"):
        raise ConfigError(f"--prefix {args.prefix!r} is not allowed: use a URL path such as team or /team/ "
                          "(letters, digits, . _ ~ - between slashes)")
    for dest, variable in [*ENV_NAMES.items(), ("cookie_secret", "BOKEH_COOKIE_SECRET")]:
        if getattr(args, dest) is not None and environ.get(variable):
            raise ConfigError(f"{option(dest)} and the environment variable {variable} are both set: give one")
    value = {dest: getattr(args, dest) or environ.get(variable) for dest, variable in ENV_NAMES.items()}
    # an empty variable counts as unset, as Panel reads it; an empty option is a (too short) secret
    cookie_secret = next((v for v in (args.cookie_secret, environ.get("PANEL_COOKIE_SECRET") or None, environ.get("BOKEH_COOKIE_SECRET") or None)
                          if v is not None), None)
    if cookie_secret is not None and len(cookie_secret) < MIN_COOKIE_SECRET:
        where = "--cookie-secret" if args.cookie_secret is not None else "the cookie secret in the environment"
        raise ConfigError(f"{where} has {len(cookie_secret)} characters: use at least {MIN_COOKIE_SECRET} random ones "
                          "(`panel secret` makes one)")
    _check_oauth(value, cookie_secret)
    env = {variable: getattr(args, dest) for dest, variable in SECRET_OPTIONS.items() if getattr(args, dest) is not None}
    processes = server_processes(environ) if environ.get(ENV_PROCESSES, "").strip() else args.num_procs
    if processes < args.num_procs:
        raise ConfigError(f"environment variable {ENV_PROCESSES}={processes} counts fewer server processes than --num-procs "
                          f"{args.num_procs}: set it to all the processes sharing this machine's memory, or unset it")
    env[ENV_PROCESSES] = str(processes)
    return env


def _check_oauth(value: dict, cookie_secret: str | None) -> None:
    """Panel's OAuth options, as ``check_options`` merged them from the command line and the environment."""
    provider = value["oauth_provider"]
    if provider is None:
        given = [option(dest) for dest in OAUTH_OPTIONS if value[dest] is not None]
        if given:
            raise ConfigError(f"{given[0]} needs --oauth-provider (or PANEL_OAUTH_PROVIDER)")
        return
    from panel.auth import AUTH_PROVIDERS  # Panel's providers and those packages register

    if provider not in AUTH_PROVIDERS:
        raise ConfigError(f"--oauth-provider {provider!r} is not allowed: use one of {', '.join(sorted(AUTH_PROVIDERS))}")
    needed = [("oauth_key", "--oauth-key or PANEL_OAUTH_KEY"), ("oauth_secret", "--oauth-secret or PANEL_OAUTH_SECRET")]
    for dest, where in (needed if provider != "pam" else []):  # PAM checks the machine's own accounts
        if not value[dest]:
            raise ConfigError(f"--oauth-provider {provider} needs the client's {dest.split('_')[1]}: {where}")
    if cookie_secret is None:
        raise ConfigError(f"--oauth-provider {provider} needs a cookie secret: PANEL_COOKIE_SECRET (or --cookie-secret)")
    extra = value["oauth_extra_params"]
    if extra is not None:
        try:
            parsed = ast.literal_eval(extra)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise ConfigError(f"--oauth-extra-params {extra[:80]!r} is not allowed: use a Python dict such as \"{{'tenant': 'ID'}}\"")
    uri = value["oauth_redirect_uri"]
    if uri is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s]*)?", uri):
        raise ConfigError(f"--oauth-redirect-uri {uri[:80]!r} is not allowed: use the viewer's public http(s) URL")
    key = value["oauth_encryption_key"]
    if key is not None:
        try:
            decoded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != 32:
            raise ConfigError("the OAuth encryption key is not 32 url-safe base64 bytes: make one with `panel oauth-secret`")
        try:
            import cryptography  # noqa: F401  Panel encrypts with it
        except ImportError:
            raise ConfigError("the OAuth encryption key needs the cryptography package: pip install cryptography") from None


def panel_command(args: argparse.Namespace, app: Path) -> list[str]:
    """The ``panel serve`` command line for ``args`` (secrets are not on it: see ``check_options``)."""
    command = [sys.executable, "-m", "panel", "serve", str(app), "--port", str(args.port), "--address", args.address,
               "--num-threads", args.num_threads, "--num-procs", str(args.num_procs),
               "--setup", str(app.with_name("setup.py")),  # security headers from the first request on
               "--plugins", "vizcache.live.routes"]  # /vizcache/metrics (docs/live-ab.md)
    for origin in args.allow_websocket_origin or []:
        command += ["--allow-websocket-origin", origin]
    if args.prefix is not None:
        command += ["--prefix", args.prefix.strip("/")]
    if args.use_xheaders:
        command.append("--use-xheaders")
    for dest in ("oauth_provider", "oauth_key", "oauth_extra_params", "oauth_redirect_uri"):
        if getattr(args, dest) is not None:
            command += [option(dest), getattr(args, dest)]
    if args.show:
        command.append("--show")
    if args.config:
        command += ["--args", "--config", str(Path(args.config).resolve())]
    return command


def cmd_serve(args: argparse.Namespace) -> int:
    """Run `panel serve` for the packaged viewer at /viewer, and stop all of it when asked to stop.

    The server runs in its own process group; SIGTERM, SIGINT and SIGHUP sent to `vizcache serve`
    go to that whole group (with --num-procs the workers are Tornado's forks, which outlive their
    parent if only it is signalled), and whatever is left of the group when the server exits is ended.
    """
    import os
    import signal
    import subprocess

    from ..config import load_config
    from ..memory import loading_process_environment

    extra_env = check_options(args, dict(os.environ))
    if args.config:
        load_config(args.config)  # fail here, with one clear line, rather than in the page
    app = Path(__file__).with_name("script") / "viewer.py"
    env = loading_process_environment({k: v for k, v in os.environ.items() if k != "VIZCACHE_CONFIG" or not args.config}) | extra_env
    server = subprocess.Popen(panel_command(args, app), env=env, start_new_session=True)
    stopped_by = []

    def forward(signum, _frame) -> None:
        stopped_by.append(signum)
        signal_group(server.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    code = server.wait()
    end_group(server.pid)
    return 0 if stopped_by else code


def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to a process group; False when nothing is left in it."""
    import os

    try:
        os.killpg(pgid, signum)
        return True
    except ProcessLookupError:
        return False


def group_running(pgid: int) -> bool:
    """Whether a process of the group still runs (exited ones may linger as zombies until reaped)."""
    import os

    import psutil

    for process in psutil.process_iter(["status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == pgid:
                return True
        except (ProcessLookupError, psutil.Error):
            pass
    return False


def end_group(pgid: int, grace: float = 10.0) -> None:
    """SIGTERM what is left of the server's process group, SIGKILL it after ``grace`` seconds."""
    import signal

    deadline = time.monotonic() + grace
    signal_group(pgid, signal.SIGTERM)
    while group_running(pgid):
        if time.monotonic() > deadline:
            signal_group(pgid, signal.SIGKILL)
            return
        time.sleep(0.1)
