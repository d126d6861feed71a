"""TOML config: every shipped file loads; every bad file gives one clear ConfigError."""

import subprocess
import sys
from pathlib import Path

import pytest

from vizcache import AgeBased, ConfigError, RSSThresholdLRU, SizeEstimatedLRU, policy_from_config

POLICIES = Path(__file__).resolve().parents[1] / "policies"


@pytest.mark.parametrize(("filename", "cls"), [
    ("rss_lru.toml", RSSThresholdLRU), ("age.toml", AgeBased), ("size_estimated.toml", SizeEstimatedLRU),
])
def test_shipped_policy_files_load(filename, cls):
    policy = policy_from_config(POLICIES / filename)
    assert type(policy) is cls


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")), ids=lambda p: p.name)
def test_a_shipped_file_says_by_its_name_whether_it_is_an_experiment_or_a_policy_config(path):
    import tomllib

    tables = set(tomllib.loads(path.read_text()))
    if path.name.startswith("ab_"):
        assert "experiment" in tables
    else:
        assert tables == {"policy"}


def test_values_reach_the_policy(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[policy]\nname = "RSSThresholdLRU"\nlimit = "1.5GiB"\nhigh_water = 0.9\nlow_water = 0.5\n')
    policy = policy_from_config(path)
    assert policy.limit_bytes == int(1.5 * 2**30) and policy.high_water == 0.9


def test_unset_optional_limits(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[policy]\nname = "AgeBased"\nmax_age = 30\n')
    policy = policy_from_config(path)
    assert policy.max_age == 30 and policy.max_entries is None


BAD = {
    "unknown_policy": ('[policy]\nname = "MRU"\n', ["name = 'MRU'", "known policies: AgeBased, LegacyRSSManager, RSSThresholdLRU, SizeEstimatedLRU"]),
    "missing_name": ('[policy]\nlimit = "1GiB"\n', ["name is missing", "RSSThresholdLRU"]),
    "no_policy_table": ('[viewer]\nport = 1\n', ["no [policy] table"]),
    "unknown_key": ('[policy]\nname = "RSSThresholdLRU"\nlimt = "1GiB"\n', ["unknown key 'limt'", "allowed keys: max_age, max_idle, max_entries, limit, high_water, low_water, auto_fraction, order"]),
    "out_of_bounds": ('[policy]\nname = "RSSThresholdLRU"\nhigh_water = 1.5\n', ["high_water = 1.5", "from 0.05 to 1.0"]),
    "mistyped": ('[policy]\nname = "AgeBased"\nmax_entries = "ten"\n', ["max_entries = 'ten'", "a whole number from 1 to 1000000"]),
    "bad_size": ('[policy]\nname = "SizeEstimatedLRU"\nbudget = "4 gigs"\n', ["budget = '4 gigs'", "1.5GiB"]),
    "size_too_small": ('[policy]\nname = "SizeEstimatedLRU"\nbudget = 10\n', ["budget = 10", "from 1.00 KiB"]),
    "bad_selector": ('[policy]\nname = "SizeEstimatedLRU"\nestimator = "pympler"\n', ["estimator = 'pympler'", "'getsizeof', 'deep', 'nbytes'"]),
    "cross_field": ('[policy]\nname = "RSSThresholdLRU"\nhigh_water = 0.5\nlow_water = 0.6\n', ["low_water (0.6) must be below high_water (0.5)"]),
    "syntax": ('[policy\nname = "AgeBased"\n', ["TOML syntax error", "line 1"]),
    "not_a_table": ('policy = "AgeBased"\n', ["[policy] must be a table"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_names_file_key_and_what_is_allowed(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        policy_from_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in expected:
        assert fragment in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        policy_from_config(tmp_path / "nope.toml")


def test_cli_prints_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[policy]\nname = "RSSThresholdLRU"\nhigh_water = 7\n')
    proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "info", "--config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"vizcache: error: {path}: [policy] high_water = 7 is not allowed for RSSThresholdLRU: use a number from 0.05 to 1.0"]
