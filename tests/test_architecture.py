"""The house's one-way doors, read from the code's own imports (README, "Architecture").

Three wings: the cache core (``vizcache/*.py`` and ``vizcache/policies/``), catalog I/O
(``vizcache/catalogs/``) and the apps (``viewer/``, ``compare/``, ``live/``, ``config.py``, ``cli.py``).
Apps may import the other two; the core and the catalogs import neither each other nor the apps.
Imports inside functions count: a lazy import is still a door.
"""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vizcache"
APP_MODULES = {"vizcache.config", "vizcache.cli", "vizcache.__main__"}
APP_PACKAGES = ("vizcache.viewer", "vizcache.compare", "vizcache.live")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def wing(module: str) -> str:
    if module in APP_MODULES or module.startswith(APP_PACKAGES):
        return "apps"
    if module.startswith("vizcache.catalogs"):
        return "catalogs"
    return "core"


def imports_of(path: Path, top_level_only: bool = False) -> set[str]:
    """The vizcache modules a file imports (``from . import x`` resolved to ``package.x`` when x is a module)."""
    tree = ast.parse(path.read_text(), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vizcache")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if not target.startswith("vizcache"):
                continue
            for alias in node.names:  # `from . import runtime` imports a module, not a name
                sub = f"{target}.{alias.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() else target)
    found.discard(here)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def wrong_doors(module: str, imported: set[str]) -> list[str]:
    allowed = {"core": {"core"}, "catalogs": {"catalogs"}, "apps": {"core", "catalogs", "apps"}}[wing(module)]
    return sorted(m for m in imported if wing(m) not in allowed)


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports at import time), or None."""
    done, path = set(), []

    def visit(node):  # depth-first; a node met again on the current path closes a circle
        if node in path:
            return path[path.index(node):] + [node]
        if node in done or node not in graph:
            return None
        path.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ importing its own modules is how packages work, not a circle
            if not node.startswith(nxt + ".") and not nxt.startswith(node + "."):
                if circle := visit(nxt):
                    return circle
        path.pop()
        done.add(node)
        return None

    return next((c for c in map(visit, sorted(graph)) if c), None)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_door_leads_from_the_core_or_the_catalogs_into_another_wing(path):
    module = module_name(path)
    assert not wrong_doors(module, imports_of(path)), f"{module} ({wing(module)}) imports {wrong_doors(module, imports_of(path))}"


def test_the_import_graph_has_no_circle():
    circle = find_circle({module_name(p): imports_of(p, top_level_only=True) for p in SOURCES})
    assert circle is None, " -> ".join(circle)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


def test_the_rules_catch_a_wrong_door_and_a_circle():
    assert wrong_doors("vizcache.catalogs.source", {"vizcache.cache"}) == ["vizcache.cache"]
    assert wrong_doors("vizcache.cache", {"vizcache.viewer.monitor", "vizcache.events"}) == ["vizcache.viewer.monitor"]
    assert wrong_doors("vizcache.viewer.app", {"vizcache.cache", "vizcache.catalogs.source", "vizcache.config"}) == []
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": set(), "p": {"p.x"}, "p.x": {"p"}}) is None
    # relative imports resolve, lazy ones included
    assert "vizcache.cache_key" in imports_of(PACKAGE / "viewer" / "runtime.py")
    assert "vizcache.policies.config" in imports_of(PACKAGE / "memoize_options.py")


CORE_LIBRARIES = {"param", "psutil", "numpy"}


def outside_libraries(path: Path) -> set[str]:
    """The third-party packages a module imports when it is imported (lazy imports left out)."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"vizcache"}


@pytest.mark.parametrize("path", [p for p in SOURCES if wing(module_name(p)) == "core"], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_only_the_standard_library_param_psutil_and_numpy(path):
    # pandas, polars or panel only inside the functions that hash or serve what a user hands in
    assert outside_libraries(path) <= CORE_LIBRARIES


def test_a_module_level_import_counts_and_a_lazy_one_does_not(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nimport pandas as pd\nfrom param import Parameter\n\ndef f():\n    import polars\n")
    assert outside_libraries(module) == {"pandas", "param"}
