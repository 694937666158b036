"""What the code may import and call, checked on its syntax tree (SECURITY.md: "No pickle, ever";
"pyca `cryptography` only … No Fernet for artifacts, no home-made modes"; `torch.load` only with
`weights_only=True`; guardian stores grants but our policy decides: never `has_perm(perm, obj)`,
never `get_objects_for_user`).

Every Python file we ship (platform, workers, wire formats, client, benchmarks, fuzz harnesses)
is parsed; the test fails on the first forbidden import or call and names the file and line, so
a later change cannot bring a pickle loader or a second crypto library in quietly.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["platform", "analysis_workers", "interlock_wire", "clients", "bench", "fuzz"]

# modules whose loaders run code from the bytes they read, and crypto libraries besides pyca's
FORBIDDEN_MODULES = {
    "pickle": "pickle runs code from the bytes it reads",
    "_pickle": "pickle runs code from the bytes it reads",
    "cPickle": "pickle runs code from the bytes it reads",
    "dill": "pickle runs code from the bytes it reads",
    "cloudpickle": "pickle runs code from the bytes it reads",
    "joblib": "joblib loads pickles",
    "shelve": "shelve stores pickles",
    "marshal": "marshal loads code objects",
    "Crypto": "pyca cryptography only",
    "Cryptodome": "pyca cryptography only",
    "nacl": "pyca cryptography only",
    "cryptography.fernet": "no Fernet: the stream format is AES-GCM-HKDF (docs/crypto.md)",
    "cryptography.hazmat.primitives.ciphers.base": "no home-made modes: AESGCM only",
    "cryptography.hazmat.primitives.ciphers.modes": "no home-made modes: AESGCM only",
    "cryptography.hazmat.primitives.ciphers.algorithms": "no home-made modes: AESGCM only",
}


def _python_files() -> Iterator[Path]:
    for folder in SHIPPED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _imported(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from cryptography.hazmat.primitives.ciphers import modes`
                yield node.lineno, f"{node.module}.{alias.name}"


def _forbidden_reason(module: str) -> str | None:
    for name, reason in FORBIDDEN_MODULES.items():
        if module == name or module.startswith(f"{name}."):
            return reason
    return None


def _torch_loads_without_weights_only(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch"
        ):
            weights_only = next((k.value for k in node.keywords if k.arg == "weights_only"), None)
            if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                yield node.lineno


def _guardian_decisions(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """`user.has_perm(perm, obj)` (true for any active superuser) and guardian's
    `get_objects_for_user` (ignores `is_active`, permissive defaults) would decide access
    outside `interlock.access`."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "has_perm" and len(node.args) + len(node.keywords) >= 2:
            yield node.lineno, "has_perm(perm, obj)"
        elif name in ("get_objects_for_user", "get_perms", "get_users_with_perms"):
            yield node.lineno, f"guardian's {name}"


def problems_in(source: str, name: str) -> list[str]:
    tree = ast.parse(source, filename=name)
    found = [
        f"{name}:{line}: imports {module} ({reason})"
        for line, module in _imported(tree)
        if (reason := _forbidden_reason(module)) is not None
    ]
    found += [
        f"{name}:{line}: torch.load without weights_only=True"
        for line in _torch_loads_without_weights_only(tree)
    ]
    found += [
        f"{name}:{line}: {call} (our policy decides, guardian only stores grants)"
        for line, call in _guardian_decisions(tree)
    ]
    return found


def test_no_shipped_file_imports_a_pickle_loader_or_another_crypto_library() -> None:
    files = list(_python_files())
    problems = [p for path in files for p in problems_in(path.read_text(), str(path.relative_to(ROOT)))]
    print(f"\n{len(files)} files parsed, {len(problems)} forbidden imports or calls")
    assert len(files) > 150
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "import pickle",
        "from pickle import loads",
        "import joblib as jl",
        "from cryptography.fernet import Fernet",
        "from cryptography.hazmat.primitives.ciphers import Cipher, modes",
        "from Crypto.Cipher import AES",
        "import nacl.secret",
        "import torch\ntorch.load(path)",
        "import torch\ntorch.load(path, weights_only=False)",
        "request.user.has_perm('findings.read_finding', finding)",
        "from guardian.shortcuts import get_objects_for_user\nget_objects_for_user(user, 'read')",
    ],
)
def test_the_check_catches_each_forbidden_form(source: str) -> None:
    """The mutants: each line, pasted into a shipped file, would turn the first test red."""
    assert problems_in(source, "mutant.py")


def test_the_check_lets_what_we_use_through() -> None:
    allowed = (
        "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
        "from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
        "import torch\ntorch.load(path, weights_only=True)\n"
        "from safetensors.torch import load\n"
    )
    assert problems_in(allowed, "ok.py") == []
