"""Reading a TOML config file: whatever the path names, one ConfigError line, never a hang or a traceback.

Only a regular file is read (a FIFO would block, ``/dev/zero`` never ends), at most
``MAX_CONFIG_BYTES`` of it, and only when it is UTF-8 whose values nest at most ``MAX_NESTING``
deep (tomllib recurses once per level, so 5,000 levels end in RecursionError) and whose numbers
are at most ``MAX_DIGITS`` long (past 4,300 digits tomllib raises a bare ValueError, and Python
cannot even print a hex number of 4,000 digits in decimal).
"""

from __future__ import annotations

import os
import re
import reprlib
import stat
import tomllib
from pathlib import Path
from typing import Any

#: a config is a few KiB; more is something else (a device, a log, a data file)
MAX_CONFIG_BYTES = 2**20
#: arrays and inline tables within each other; a config needs two (missing = {z = [-99]})
MAX_NESTING = 32
#: characters of one number: far more than any setting needs, far less than Python's int limits
MAX_DIGITS = 1000


class ConfigError(ValueError):
    """A configuration problem; the message names the file, the key and what is allowed, on one line."""

    def __init__(self, message: str) -> None:
        # A key, a value or a file name may hold a line break or a terminal escape: show it escaped.
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


class _TomlRepr(reprlib.Repr):
    def repr_bool(self, value: bool, level: int) -> str:
        return "true" if value else "false"  # as the file wrote it


_SHOWN = _TomlRepr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut short when it is long or deep."""
    return _SHOWN.repr(value)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse the TOML file at ``path``; anything that is not a readable, sane TOML file is a ConfigError."""
    path = Path(path)
    text = _config_text(path)
    problem = _nesting_problem(text)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None


_FILE_KINDS = {stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}


def _not_a_config_file(path: Path, mode: int) -> ConfigError | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return ConfigError(f"{path}: is a folder, not a TOML config file")
    kind = next((name for test, name in _FILE_KINDS.items() if test(mode)), "not a file")
    return ConfigError(f"{path}: not a regular file ({kind}); a config is a TOML text file")


def _config_text(path: Path) -> str:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            # Non-blocking: should the path become a FIFO after the check, opening it does not wait for a writer.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError) as exc:
        detail = "" if isinstance(exc, FileNotFoundError) else f" ({exc.strerror})"
        raise ConfigError(f"{path}: no such config file{detail}") from None
    except OSError as exc:  # a symlink loop, a name too long, no permission
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    except ValueError:  # os.stat's "embedded null byte"
        raise ConfigError(f"{path}: no such config file (a path cannot hold a NUL character)") from None
    problem = _not_a_config_file(path, mode)  # checked before opening: a device is never opened
    if problem:
        raise problem
    with open(fd, "rb") as fh:
        problem = _not_a_config_file(path, os.fstat(fd).st_mode)  # what was opened, in case it changed
        if problem:
            raise problem
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 2**20} MiB; a config file is a few KiB of TOML")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); a TOML config must be UTF-8") from None


# -- nesting and number length, checked before tomllib sees the text ----------------------------

#: what the scan stops at: line ends, comments, string openers, brackets, '=', and over-long numbers
_TOKEN = re.compile(r"""\n|#|\"\"\"|'''|"|'|[\[\]{}=]|[0-9][0-9A-Za-z_.+-]""" + f"{{{MAX_DIGITS},}}")
#: the rest of a string after its opening quote(s), closing quote(s) included (TOML's four kinds)
_STRING_REST = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"[^'\n]*'"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""(?:"{1,2})?', re.DOTALL),
    "'''": re.compile(r"(?:[^']|'(?!''))*'''(?:'{1,2})?", re.DOTALL),
}


def _nesting_problem(text: str) -> str | None:
    """What is wrong with a value nested too deep or a number too long, naming the line and key; else None.

    Strings and comments are skipped as TOML reads them, so brackets inside them nest nothing.
    Malformed text (an unterminated string) is left to tomllib, which names the line.
    """
    depth, line, line_start, table, key = 0, 1, 0, "", ""
    pos = 0
    while match := _TOKEN.search(text, pos):
        token, pos = match.group(), match.end()
        if token == "\n":
            line, line_start = line + 1, pos
        elif token == "#":
            pos = text.find("\n", pos)
            if pos < 0:
                return None
        elif token[0] in "\"'":
            rest = _STRING_REST[token].match(text, pos)
            if rest is None:
                return None
            line += text.count("\n", pos, rest.end())
            pos = rest.end()
        elif token == "[" and depth == 0 and not text[line_start:match.start()].strip():
            end = text.find("\n", pos)  # a table header: it names the table the next keys belong to
            pos = len(text) if end < 0 else end
            table = text[match.start():pos].split("#")[0].strip()
        elif token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return f"line {line}: {f'{table} {key}'.strip()} nests arrays or inline tables more than {MAX_NESTING} deep"
        elif token in "]}":
            depth = max(0, depth - 1)
        elif token == "=":
            if depth == 0:
                key = text[line_start:match.start()].strip()
        else:
            return f"line {line}: {f'{table} {key}'.strip()} holds a number {len(token)} characters long; at most {MAX_DIGITS}"
    return None
