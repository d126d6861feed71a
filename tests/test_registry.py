"""Policies come from the entry-point group, so a third-party package can add one."""

import json
import subprocess
import sys
import textwrap

from vizcache import Cache, policy_from_config
from vizcache.policies import ENTRY_POINT_GROUP, available_policies
from importlib.metadata import entry_points


def test_builtins_are_registered_as_entry_points():
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"RSSThresholdLRU", "AgeBased", "SizeEstimatedLRU"} <= names
    assert set(available_policies()) >= names


def _install_plugin(tmp_path, body):
    pkg = tmp_path / "thirdparty_policy.py"
    pkg.write_text(textwrap.dedent(body))
    dist = tmp_path / "thirdparty_policy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-policy\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nFIFO = thirdparty_policy:FIFO\nBroken = thirdparty_policy:missing\n")


def test_third_party_policy_plugs_in_without_touching_vizcache(tmp_path, monkeypatch):
    _install_plugin(tmp_path, '''
        import param
        from vizcache import CachePolicy

        class FIFO(CachePolicy):
            """Keep at most max_entries, first in first out."""
            max_entries = param.Integer(2, bounds=(1, 100), doc="Entries kept.")

            def after_admit(self, cache, entry, rss_after):
                by_age = sorted(cache.entry_objects(), key=lambda e: e.inserted)
                cache.evict_entries(by_age[: max(0, len(by_age) - self.max_entries)], reason="fifo")
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    policies = available_policies()
    assert "FIFO" in policies and "Broken" not in policies  # a broken plugin is skipped, not fatal
    config = tmp_path / "fifo.toml"
    config.write_text('[policy]\nname = "FIFO"\nmax_entries = 1\n')
    policy = policy_from_config(config)
    assert type(policy).__name__ == "FIFO" and policy.max_entries == 1
    cache = Cache(policy)
    for key in "abc":
        cache.get_or_load(key, lambda: key)
    assert [e["key"] for e in cache.entries()] == ["c"]
    # and the CLI lists it with its parameters
    proc = subprocess.run([sys.executable, "-m", "vizcache.cli", "policies", "--json"], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    listed = json.loads(proc.stdout)
    assert listed["FIFO"] == [{"name": "max_entries", "default": 2, "allowed": "a whole number from 1 to 100", "doc": "Entries kept."}]


def test_every_builtin_parameter_has_doc_and_bounds():
    for name, cls in available_policies().items():
        for pname, p in cls.param.objects("existing").items():
            if pname == "name":
                continue
            assert p.doc, f"{name}.{pname} has no doc"
            bounded = getattr(p, "bounds", None) is not None or getattr(p, "objects", None)
            assert bounded, f"{name}.{pname} has no bounds or objects"
