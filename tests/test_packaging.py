"""What a user installs: every third-party module the shipped code imports is a dependency pyproject.toml declares
by name, so no import works only because another package happened to bring it along."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from conftest import ROOT

SHIPPED = ("bot", "handlers", "messages", "storage", "sandbox")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules() -> dict[str, str]:
    """Top-level module imported -> the first file that imports it, for every shipped module."""
    found: dict[str, str] = {}
    for package in SHIPPED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_normal(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]) for line in project["dependencies"]}


def test_every_imported_third_party_module_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    third_party = {
        module: where
        for module, where in imported_modules().items()
        if module not in sys.stdlib_module_names and module not in SHIPPED
    }
    assert {"telegram", "slack_bolt", "aiolimiter"} <= third_party.keys()  # the walk sees the real imports
    undeclared = [
        f"{module} (imported by {where}, installed by {distributions.get(module)})"
        for module, where in sorted(third_party.items())
        if not {_normal(name) for name in distributions.get(module, [module])} & declared()
    ]
    assert undeclared == []
