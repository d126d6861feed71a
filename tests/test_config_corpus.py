"""A corpus of hostile config files: each one is refused with ONE line naming the file and the key.

Every section and key of the config schema (every registered policy's every parameter
included) gets wrong types, booleans, inf/nan, huge and negative numbers, empty and hostile
strings and 5,000-deep values; beside them, files that are not configs at all (empty, binary,
not UTF-8, too big, a folder, a FIFO, a device, a symlink loop, missing). Never a traceback,
never a hang: each case goes through the Python API, and representative ones through the CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from vizcache import ConfigError, policy_from_config
from vizcache.config import load_config
from vizcache.config_file import MAX_CONFIG_BYTES, MAX_NESTING
from vizcache.policies import available_policies

#: a valid config the corpus spoils one key at a time (files need not exist to be configured)
BASE = {
    "policy": {"name": '"RSSThresholdLRU"', "limit": '"1GiB"'},
    "data": {"folders": '["data"]', "generate": '"small"'},
    "catalogs.C": {"files": '"data/c.parquet"', "kind": '"clusters"', "columns": '{ra = "RA", dec = "DEC"}',
                   "missing": "{z = [-99]}", "float64": '["ra"]', "format": '"parquet"', "backend": '"pandas"',
                   "scheduler": '"tcp://127.0.0.1:8786"', "extra": '["FLAG"]'},
    "catalogs.M": {"files": '"data/members-*.parquet"', "kind": '"members"'},
    "viewer": {"title": '"clusters"', "catalog": '"C"', "members": '"M"', "reports": '"reports"', "max_points": "5000000"},
    "trace": {"path": '"traces/t.jsonl"'},
}

#: TOML values no key of the schema accepts
HOSTILE = {
    "bool": "true",
    "inf": "inf",
    "minus_inf": "-inf",
    "nan": "nan",
    "huge_int": "1" + "0" * 400,
    "int_of_5000_digits": "9" * 5000,
    "hex_of_4000_digits": "0x" + "f" * 4000,
    "negative": "-1",
    "datetime": "1979-05-27T07:32:00Z",
    "inline_table": "{ bogus = 1 }",
    "list_of_numbers": "[1]",
    "list_of_lists": "[[1]]",
    "empty_string": '""',
    "nul_in_string": '"a\\u0000b"',
    "huge_string": '"' + "x" * 100_000 + '"',
    "deep_array": "[" * 5000 + "]" * 5000,
    "deep_inline_table": "{a = " * 5000 + "1" + "}" * 5000,
    "deep_array_over_lines": "[\n" * 5000 + "]\n" * 5000,
}

#: hostile values a key does accept, and why
ACCEPTED = {
    ("viewer", "title", "nul_in_string"): "the title is shown as text",
    ("viewer", "title", "huge_string"): "the title is shown as text",
    ("catalogs.C", "extra", "huge_string"): "a column name of any length is a column name",
    ("catalogs.C", "extra", "nul_in_string"): "a column name is matched against the file's as it is",
}


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    names: str  # the key (or what stands in for it) the message must name
    only_policy: bool = False  # the policy table alone: policy_from_config reads it as well


def render(sections: dict[str, dict[str, str]]) -> str:
    return "".join(f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()) for section, keys in sections.items())


def spoiled(section: str, key: str, value: str) -> str:
    sections = {s: dict(keys) for s, keys in BASE.items()}
    sections[section][key] = value
    return render(sections)


def policy_cases() -> list[Case]:
    cases = [Case(f"policy-name-{label}", f"[policy]\nname = {value}\n", "[policy] name", only_policy=True)
             for label, value in HOSTILE.items()]
    for policy, cls in available_policies().items():
        for key in (k for k in cls.param.objects("existing") if k != "name"):
            for label, value in HOSTILE.items():
                cases.append(Case(f"policy-{policy}-{key}-{label}", f'[policy]\nname = "{policy}"\n{key} = {value}\n',
                                  f"[policy] {key}", only_policy=True))
    return cases


def schema_cases() -> list[Case]:
    cases = []
    for section, keys in BASE.items():
        if section == "policy":
            continue
        for key in keys:
            for label, value in HOSTILE.items():
                if (section, key, label) not in ACCEPTED:
                    cases.append(Case(f"{section}-{key}-{label}", spoiled(section, key, value), f"[{section}] {key}"))
    return cases


def structure_cases() -> list[Case]:
    """Unknown keys and sections, wrong shapes, hostile names: what the schema itself refuses."""
    valid = render(BASE)
    return [
        *(Case(f"unknown-key-{s}", spoiled(s, "bogus", "1"), f"[{s}] unknown key 'bogus'") for s in BASE),
        Case("unknown-section", valid + "[bogus]\nx = 1\n", "unknown section [bogus]"),
        Case("policy-not-a-table", 'policy = "AgeBased"\n', "[policy] must be a table", only_policy=True),
        Case("viewer-not-a-table", 'viewer = 5\n', "[viewer]"),
        Case("trace-not-a-table", 'trace = "t.jsonl"\n', "[trace]"),
        Case("catalogs-not-a-table", 'catalogs = ["C"]\n', "[catalogs]"),
        Case("catalog-not-a-table", '[catalogs]\nC = "c.parquet"\n', "[catalogs.C]"),
        Case("catalog-name-with-newline", '[catalogs."a\\nb"]\nfiles = 5\n', "[catalogs."),
        Case("section-name-with-newline", '["a\\nb"]\nx = 1\n', "unknown section"),
        Case("key-with-newline", '[trace]\n"a\\nb" = 1\n', "[trace] unknown key"),
        Case("policy-unknown-key-with-control-chars", '[policy]\nname = "AgeBased"\n"\\u001b[31mred" = 1\n', "[policy] unknown key"),
        Case("columns-unknown-canonical", spoiled("catalogs.C", "columns", '{ra = "RA", dec = "DEC", bogus = "X"}'), "[catalogs.C] columns"),
        Case("columns-missing-dec", spoiled("catalogs.C", "columns", '{ra = "RA"}'), "[catalogs.C] columns"),
        Case("columns-value-not-a-string", spoiled("catalogs.C", "columns", '{ra = 1, dec = "DEC"}'), "[catalogs.C] columns.ra"),
        Case("columns-value-empty", spoiled("catalogs.C", "columns", '{ra = "", dec = "DEC"}'), "[catalogs.C] columns.ra"),
        Case("missing-unknown-canonical", spoiled("catalogs.C", "missing", "{bogus = 1}"), "[catalogs.C] missing.bogus"),
        Case("missing-list-of-lists", spoiled("catalogs.C", "missing", "{z = [[1]]}"), "[catalogs.C] missing.z"),
        Case("missing-nan", spoiled("catalogs.C", "missing", "{z = nan}"), "[catalogs.C] missing.z"),
        Case("files-list-with-empty", spoiled("catalogs.C", "files", '["data/c.parquet", ""]'), "[catalogs.C] files"),
        Case("files-outside-folders", spoiled("catalogs.C", "files", '"../../etc/passwd"'), "[catalogs.C] file"),
        Case("files-newline-outside-folders", spoiled("catalogs.C", "files", '"a\\nb"'), "[catalogs.C] file"),
        Case("files-name-too-long", spoiled("catalogs.C", "files", '"data/' + "x" * 5000 + '"'), "[catalogs.C] files"),
        Case("folders-name-too-long", spoiled("data", "folders", '"' + "x" * 5000 + '"'), "[data] folders"),
        Case("trace-path-too-long", spoiled("trace", "path", '"' + "x" * 5000 + '"'), "[trace] path"),
        Case("trace-path-folder", spoiled("trace", "path", '"traces/"'), "[trace] path"),
        Case("format-unknown", spoiled("catalogs.C", "format", '"xlsx"'), "[catalogs.C] format"),
        Case("kind-unknown", spoiled("catalogs.C", "kind", '"stars"'), "[catalogs.C] kind"),
        Case("scheduler-with-spaces", spoiled("catalogs.C", "scheduler", '"tcp://a b:1"'), "[catalogs.C] scheduler"),
        Case("viewer-catalog-unknown", spoiled("viewer", "catalog", '"NOPE"'), "[viewer] catalog"),
        Case("viewer-members-not-members", spoiled("viewer", "members", '"C"'), "[viewer] members"),
        Case("max-points-too-small", spoiled("viewer", "max_points", "10"), "[viewer] max_points"),
        Case("max-points-float", spoiled("viewer", "max_points", "5e6"), "[viewer] max_points"),
        Case("generate-unknown", spoiled("data", "generate", '"huge"'), "[data] generate"),
        Case("policy-unknown-name", '[policy]\nname = "MRU"\n', "[policy] name", only_policy=True),
        Case("policy-name-missing", '[policy]\nlimit = "1GiB"\n', "[policy] name", only_policy=True),
        Case("policy-size-400-digits", '[policy]\nname = "RSSThresholdLRU"\nlimit = "' + "9" * 400 + 'MB"\n', "[policy] limit", only_policy=True),
        Case("policy-size-overflows-with-its-unit", '[policy]\nname = "SizeEstimatedLRU"\nbudget = "1' + "0" * 300 + 'GiB"\n', "[policy] budget", only_policy=True),
        Case("policy-size-exponent", '[policy]\nname = "SizeEstimatedLRU"\nbudget = 1e400\n', "[policy] budget", only_policy=True),
        Case("policy-water-marks-cross", '[policy]\nname = "RSSThresholdLRU"\nhigh_water = 0.5\nlow_water = 0.6\n', "[policy] low_water", only_policy=True),
        Case("policy-estimator-relative-import", '[policy]\nname = "SizeEstimatedLRU"\nestimator = ".relative:fn"\n', "[policy] estimator", only_policy=True),
        Case("policy-estimator-missing-module", '[policy]\nname = "SizeEstimatedLRU"\nestimator = "no_such_module_x:fn"\n', "[policy] estimator", only_policy=True),
        Case("policy-estimator-not-callable", '[policy]\nname = "SizeEstimatedLRU"\nestimator = "math:pi"\n', "[policy] estimator", only_policy=True),
        Case("policy-duplicate-key", '[policy]\nname = "AgeBased"\nname = "AgeBased"\n', "line 3", only_policy=True),
        Case("syntax-unterminated-string", '[policy]\nname = "AgeBased\n', "line 2", only_policy=True),
        Case("syntax-unclosed-table", '[policy\nname = "AgeBased"\n', "line 1", only_policy=True),
        Case("deep-nesting-named-by-line", "[policy]\nname = \"AgeBased\"\n\nmax_age = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + "\n",
             "line 4", only_policy=True),
    ]


CASES = {c.name: c for c in [*policy_cases(), *schema_cases(), *structure_cases()]}


def assert_one_line(message: str, path: Path, names: str) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert str(path) in message, message
    assert names in message, message
    assert len(message) < 2000, f"{len(message)} characters"


def test_the_base_config_is_valid(tmp_path):
    """The corpus spoils one key of this config at a time: unspoiled, it loads."""
    path = tmp_path / "c.toml"
    path.write_text(render(BASE))
    config = load_config(path)
    assert set(config.catalogs) == {"C", "M"} and config.trace == tmp_path / "traces" / "t.jsonl"


def test_the_corpus_is_large():
    assert len(CASES) > 400


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_config_is_one_line_naming_file_and_key(tmp_path, name):
    case = CASES[name]
    path = tmp_path / "c.toml"
    path.write_text(case.text, encoding="utf-8")
    loaders = [load_config, policy_from_config] if case.only_policy else [load_config]
    for load in loaders:
        with pytest.raises(ConfigError) as info:
            load(path)
        assert_one_line(str(info.value), path, case.names)


# -- files that are not config files ------------------------------------------------------------

def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _symlink_loop(path: Path) -> None:
    other = path.with_name("other.toml")
    path.symlink_to(other)
    other.symlink_to(path)


FILES = {
    "empty": (lambda p: p.write_bytes(b""), "no [policy] table"),
    "only-comments": (lambda p: p.write_text("# nothing\n" * 50), "no [policy] table"),
    "latin-1-in-a-string": (lambda p: p.write_bytes(b'[policy]\nname = "Age\xe9"\n'), "line 2"),
    "latin-1-in-a-comment": (lambda p: p.write_bytes(b'# caf\xe9\n[policy]\nname = "AgeBased"\n'), "line 1"),
    "utf-16": (lambda p: p.write_text('[policy]\nname = "AgeBased"\n', encoding="utf-16"), "UTF-8"),
    "binary": (lambda p: p.write_bytes(bytes(range(256)) * 8), "UTF-8"),
    "nul-bytes": (lambda p: p.write_bytes(b"[policy]\x00\nname = 1\n"), "line 1"),
    "too-big": (lambda p: p.write_bytes(b"# padding\n" * (MAX_CONFIG_BYTES // 10 + 1)), "larger than"),
    "folder": (lambda p: p.mkdir(), "folder"),
    "fifo": (_fifo, "not a regular file"),
    "dev-zero": (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    "dev-null": (lambda p: p.symlink_to("/dev/null"), "not a regular file"),
    "symlink-loop": (_symlink_loop, "symbolic links"),
    "self-symlink": (lambda p: p.symlink_to(p), "symbolic links"),
    "missing": (lambda p: None, "no such config file"),
    "missing-folder": (lambda p: None, "no such config file"),
    "under-a-file": (lambda p: None, "no such config file (Not a directory)"),
}


def file_case_path(tmp_path: Path, name: str) -> Path:
    if name == "missing-folder":
        return tmp_path / "no" / "such" / "c.toml"
    if name == "under-a-file":
        return tmp_path / "plain" / "c.toml"
    return tmp_path / "c.toml"


@pytest.mark.timeout(30)  # a FIFO or a device must never block the reader
@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("load", [load_config, policy_from_config], ids=["load_config", "policy_from_config"])
def test_a_file_that_is_not_a_config_is_one_line(tmp_path, name, load):
    make, fragment = FILES[name]
    path = file_case_path(tmp_path, name)
    if name == "under-a-file":
        (tmp_path / "plain").write_text("")
    make(path)
    if name in ("empty", "only-comments") and load is load_config:
        assert load(path).catalogs == {}  # a whole config may leave every section out
        return
    with pytest.raises(ConfigError) as info:
        load(path)
    assert_one_line(str(info.value), path, fragment)


@pytest.mark.parametrize("load", [load_config, policy_from_config], ids=["load_config", "policy_from_config"])
def test_a_config_path_holding_a_nul_is_one_line(tmp_path, load):
    path = f"{tmp_path}/c\0.toml"
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value) == f"{tmp_path}/c\\x00.toml: no such config file (a path cannot hold a NUL character)"


@pytest.mark.parametrize("name", ["catalog-file", "data-folder", "trace-path", "reports"])
def test_a_symlink_loop_named_in_the_config_is_one_line(tmp_path, name):
    (tmp_path / "data").mkdir()
    loop = tmp_path / "data" / "loop"
    loop.symlink_to(loop)
    section, key, value = {"catalog-file": ("catalogs.C", "files", '"data/loop"'), "data-folder": ("data", "folders", '["data/loop"]'),
                           "trace-path": ("trace", "path", '"data/loop"'), "reports": ("viewer", "reports", '"data/loop"')}[name]
    path = tmp_path / "c.toml"
    path.write_text(spoiled(section, key, value))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert_one_line(str(info.value), path, f"[{section}] {key}")
    assert "symbolic links" in str(info.value)


def test_a_valid_config_with_brackets_in_strings_and_comments_loads(tmp_path):
    """The nesting check reads strings and comments as TOML does: brackets in them nest nothing."""
    path = tmp_path / "c.toml"
    brackets = "[" * (MAX_NESTING + 5)
    path.write_text(
        f"# {brackets}\n"
        + render(BASE).replace('title = "clusters"', f'title = "{brackets} \\" {brackets}"  # {brackets}')
        + f"[catalogs.S]\nfiles = '''data/{brackets}\n'''\n"
        + f'[catalogs.T]\nfiles = """\\\ndata/x{brackets}"""""\n'
        + f"[catalogs.U]\nfiles = 'data/{brackets}'\n",
    )
    config = load_config(path)
    assert config.viewer.title == f'{brackets} " {brackets}'
    assert config.catalogs["T"].files[0].endswith(f'x{brackets}""')


# -- the command line ---------------------------------------------------------------------------

def vizcache(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vizcache.cli", *map(str, args)], capture_output=True, text=True, timeout=60)


CLI_CASES = {
    "limit-inf": (CASES["policy-RSSThresholdLRU-limit-inf"].text, "[policy] limit"),
    "max-entries-bool": (CASES["policy-AgeBased-max_entries-bool"].text, "[policy] max_entries"),
    "deep-array": (CASES["policy-AgeBased-max_age-deep_array"].text, "[policy] max_age"),
    "files-number": (spoiled("catalogs.C", "files", "5"), "[catalogs.C] files"),
    "format-list": (spoiled("catalogs.C", "format", '["csv"]'), "[catalogs.C] format"),
    "trace-unknown-key": (spoiled("trace", "bogus", "1"), "[trace] unknown key 'bogus'"),
}


def _cli_params() -> list[tuple[str, str]]:
    """Every case with the commands that read a config; `vizcache info --config` reads only its [policy] table."""
    return [(command, case) for case, (_, names) in sorted(CLI_CASES.items())
            for command in ("info", "catalog-info", "partition") if command != "info" or names.startswith("[policy]")]


@pytest.mark.parametrize(("command", "case"), _cli_params())
def test_cli_hostile_config_is_one_line(tmp_path, command, case):
    text, names = CLI_CASES[case]
    path = tmp_path / "c.toml"
    path.write_text(text)
    args = {"info": ["info", "--config", path], "catalog-info": ["catalog-info", path, "C"],
            "partition": ["partition", path, "C", "--out", tmp_path / "out"]}[command]
    proc = vizcache(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vizcache: error: "), proc.stderr
    assert_one_line(lines[0], path, names)


@pytest.mark.parametrize("name", ["fifo", "dev-zero", "symlink-loop", "binary", "too-big"])
def test_cli_file_that_is_not_a_config_is_one_line(tmp_path, name):
    make, fragment = FILES[name]
    path = tmp_path / "c.toml"
    make(path)
    for args in (["info", "--config", path], ["catalog-info", path, "C"]):
        proc = vizcache(*args)  # timeout=60: a FIFO that blocked the reader would fail here, not hang the suite
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert_one_line(lines[0], path, fragment)


# -- the policies' own parameter checks, as the Python API meets them ---------------------------

@pytest.mark.parametrize(("policy", "key", "value"), [
    ("RSSThresholdLRU", "limit", float("inf")),
    ("SizeEstimatedLRU", "budget", float("inf")),
    ("SizeEstimatedLRU", "budget", "1" + "0" * 400 + "MB"),
    ("SizeEstimatedLRU", "estimator", ".relative:fn"),
])
def test_a_policy_refuses_what_overflows_or_cannot_import_with_a_value_error(policy, key, value):
    with pytest.raises(ValueError, match=f"^{key}="):
        available_policies()[policy](**{key: value})
