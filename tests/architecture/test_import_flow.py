"""Imports flow one way: core <- infra <- nemesis, workloads <- harness, and checkers <- core only.

The rule is read from the source (ast), so an import hidden inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What each layer may import besides itself.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "checkers": frozenset({"core"}),
    "infra": frozenset({"core"}),
    "nemesis": frozenset({"core", "infra"}),
    "workloads": frozenset({"core", "infra"}),
    "harness": frozenset({"core", "infra", "nemesis", "workloads", "checkers"}),
}
# Third-party packages that need a Kafka client or a Docker engine: the pure layers never import them.
HEAVY = frozenset({"docker", "confluent_kafka", "paramiko"})
PURE = ("core", "checkers")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in a file; relative imports are within the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def arrows_against_the_flow(layers: dict[str, frozenset[str]], root: Path) -> list[str]:
    wrong = []
    for layer, allowed in layers.items():
        for path in sorted((root / layer).rglob("*.py")):
            for line, package in imports_of(path):
                if package in layers and package != layer and package not in allowed:
                    wrong.append(f"{path.relative_to(root)}:{line} imports {package}")
                if layer in PURE and package in HEAVY:
                    wrong.append(f"{path.relative_to(root)}:{line} imports {package} (a pure layer)")
    return wrong


def test_every_import_flows_down_the_layers() -> None:
    assert arrows_against_the_flow(ALLOWED, ROOT) == []


def test_the_walk_finds_an_arrow_against_the_flow(tmp_path: Path) -> None:
    # The test above could pass by finding nothing at all: prove it sees a wrong arrow, also a lazy one.
    (tmp_path / "core").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "core" / "bad.py").write_text("def f():\n    from infra.cluster import Cluster\n")
    (tmp_path / "infra" / "fine.py").write_text("from core.errors import HarnessError\nimport docker\n")
    layers = {"core": frozenset(), "infra": frozenset({"core"})}
    assert arrows_against_the_flow(layers, tmp_path) == ["core/bad.py:2 imports infra"]


def test_every_package_is_in_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert packages == set(ALLOWED)


def test_only_the_history_reader_parses_json_lines() -> None:
    # One reader with one error policy (core/history.py): nobody else loops over a file's lines with json.
    parsing = re.compile(r"\bloads\((?:line|raw)\b")
    readers = [str(p.relative_to(ROOT)) for layer in ALLOWED for p in sorted((ROOT / layer).rglob("*.py"))
               if parsing.search(p.read_text())]
    # The Java driver's stdout is a live event stream, not a history file: it is recorded into one.
    assert readers == ["core/history.py", "workloads/driver_stream.py"]
