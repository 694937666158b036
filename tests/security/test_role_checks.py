"""Access is decided in `interlock.access` and the apps' `access.py`, nowhere else (DESIGN.md).

Parsed on the syntax tree of every platform file: a role comparison (`x.is_steward` or
`x.role` in a condition, `Role.ORG_ADMIN` in a comparison), an authentication fact patched onto
a person (`x.is_verified = …`) or a guardian call (`assign_perm`, `remove_perm`, `has_perm`,
`get_perms`, `get_objects_for_user`, `ObjectPermissionChecker`) outside those modules fails the
test with its file and line. Reading a role as data (`{"steward": person.is_steward}`) is fine;
deciding with it is the policy's job.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "platform" / "interlock"
ROLE_ATTRIBUTES = {"is_steward", "role"}
GUARDIAN_CALLS = {
    "assign_perm",
    "remove_perm",
    "has_perm",
    "get_perms",
    "get_objects_for_user",
    "get_users_with_perms",
    "ObjectPermissionChecker",
}


def _is_policy_module(path: Path) -> bool:
    relative = path.relative_to(PLATFORM)
    return relative.parts[0] == "access" or relative.name == "access.py" or "migrations" in relative.parts


def _conditions(tree: ast.AST) -> Iterator[ast.AST]:
    """Expressions whose truth decides something: if/while/assert/ternary tests, boolean
    operators, `not`, comparisons and comprehension filters."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            yield node.test
        elif isinstance(node, ast.BoolOp | ast.Compare):
            yield node
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node.operand
        elif isinstance(node, ast.comprehension):
            yield from node.ifs


def _role_reads(expression: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(expression):
        if isinstance(node, ast.Attribute) and node.attr in ROLE_ATTRIBUTES:
            yield node.lineno, f".{node.attr} in a condition"
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Role"
            and node.attr not in ("choices", "values", "labels", "names")
        ):
            yield node.lineno, f"Role.{node.attr} in a condition"
        elif isinstance(node, ast.Constant) and node.value == "org_admin":
            yield node.lineno, "'org_admin' in a condition"


def problems_in(source: str, name: str) -> list[str]:
    tree = ast.parse(source, filename=name)
    found: set[tuple[int, str]] = set()
    for condition in _conditions(tree):
        found.update(_role_reads(condition))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "is_verified":
                    found.add((node.lineno, "is_verified patched onto an object"))
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in GUARDIAN_CALLS:
                found.add((node.lineno, f"guardian's {called}"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("guardian.shortcuts"):
            found.add((node.lineno, "imports guardian.shortcuts"))
    return [f"{name}:{line}: {what}" for line, what in sorted(found)]


def test_no_role_comparison_or_guardian_call_outside_the_policy() -> None:
    files = [p for p in sorted(PLATFORM.rglob("*.py")) if not _is_policy_module(p)]
    problems = [p for path in files for p in problems_in(path.read_text(), str(path.relative_to(ROOT)))]
    print(f"\n{len(files)} platform files outside the policy parsed, {len(problems)} role checks")
    assert len(files) > 80
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "if person.is_steward:\n    pass",
        "allowed = actor.role == Role.ORG_ADMIN and own",
        "if not actor.is_steward or not actor.is_active:\n    raise NotFound",
        "ok = getattr(actor, 'role', '') == Role.ORG_ADMIN",
        "x = [p for p in people if p.is_steward]",
        "admin = person.role == 'org_admin'",
        "person.is_verified = lambda: True",
        "from guardian.shortcuts import assign_perm\nassign_perm('read', user, finding)",
        "checker = ObjectPermissionChecker(user)",
    ],
)
def test_the_check_catches_each_role_decision(source: str) -> None:
    """The mutants: the old shapes (`_is_steward`, `getattr(actor, "role")`, the patched
    `is_verified`), each pasted into a platform file, would turn the first test red."""
    assert problems_in(source, "mutant.py")


def test_reading_a_role_as_data_is_allowed() -> None:
    allowed = (
        'row = {"steward": person.is_steward, "role": person.role}\n'
        "fields = ['is_steward', 'role']\n"
        "Person.objects.create(role=Role.MEMBER)\n"
    )
    assert problems_in(allowed, "ok.py") == []
