"""The layers the design promises and import-linter cannot see: SQL lives only in storage/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

# Every package but storage/: the domain, the adapters, the templates' renderer and the emulators.
OUTSIDE_STORAGE = ("bot", "handlers", "messages", "sandbox")
# Statements as this project writes them, upper case: prose that says "select" or "update" is not caught.
SQL = re.compile(
    r"\bSELECT\s+[\w*(]|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b|\bPRAGMA \w+|\bBEGIN IMMEDIATE\b"
)


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with each placeholder as `x`, so "SELECT {column} FROM" reads whole."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) and isinstance(part.value, str) else "x"
            for part in node.values
        )
    return None


def sql_literals(path: Path, root: Path = ROOT) -> list[str]:
    """`file:line: text` for each string literal in a module that holds an SQL statement."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        text = _text(node)
        if text is not None and SQL.search(text):
            found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}: {text[:70]!r}")
    return found


def test_the_pattern_finds_statements_and_leaves_prose_alone(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text(
        'A = "SELECT COUNT(*) AS n FROM outbox"\n'
        'B = f"UPDATE {table} SET x = ?"\n'
        'C = "DELETE FROM drafts WHERE telegram_id = ?"\n'
        'D = "Select a language, then update your settings"\n'
    )
    found = [line.split(": ", 1)[1][1:7] for line in sql_literals(module, tmp_path)]
    assert sorted(found) == ["DELETE", "SELECT", "UPDATE"]


def test_no_sql_outside_storage() -> None:
    found = [
        hit
        for package in OUTSIDE_STORAGE
        for path in sorted((ROOT / package).rglob("*.py"))
        for hit in sql_literals(path)
    ]
    assert found == [], "SQL belongs in storage/, behind a named Store method:\n" + "\n".join(found)
