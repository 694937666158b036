"""Test modules share helpers through `tests.support` (and a suite's own helper modules), never by
importing another test module or a conftest: that couples unrelated suites and runs their
module-level fixtures by accident."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imports_of_test_modules(path: Path, root: Path = TESTS.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests."):
            last = node.module.rsplit(".", 1)[-1]
            if last.startswith("test_") or last == "conftest":
                found.append(f"{path.relative_to(root).as_posix()}:{node.lineno} imports {node.module}")
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    offenders = [line for path in sorted(TESTS.rglob("*.py")) for line in _imports_of_test_modules(path)]
    assert offenders == []


def test_the_check_sees_such_an_import(tmp_path: Path) -> None:
    """The mutant: a module importing from a test module is reported."""
    module = tmp_path / "test_example.py"
    module.write_text("from tests.interlock.analyses.test_pipeline import FAST\n")
    assert _imports_of_test_modules(module, root=tmp_path) == [
        "test_example.py:1 imports tests.interlock.analyses.test_pipeline"
    ]
