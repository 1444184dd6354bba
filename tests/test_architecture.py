"""The architecture holds: layers point one way (import-linter's contracts in pyproject.toml), and every
module and function of the apps is one a person reads in one sitting (README, Architecture)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# One worker runs this module: a test here writes a module into the tree that the others walk.
pytestmark = pytest.mark.xdist_group("architecture")
APPS = ("governance", "registry", "audit")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
LONG_MARK = "# long:"
TEMPORARY_MODULE_PREFIX = "_tmp_forbidden_"

# A function that must stay long says why in a ``# long: <why>`` comment right above its def; these
# allow-lists (path:function or path -> reason) are for code a comment cannot mark, such as generated code.
LONG_FUNCTIONS: dict[str, str] = {}
LONG_MODULES: dict[str, str] = {}


def _lint_imports() -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_the_import_contracts_are_kept() -> None:
    result = _lint_imports()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_an_import_against_the_layers_breaks_the_contracts() -> None:
    # A kernel module that imports an app: both "the kernel imports no app" and the layers refuse it.
    module = ROOT / "governance" / "core" / f"{TEMPORARY_MODULE_PREFIX}{uuid.uuid4().hex[:8]}.py"
    module.write_text("from registry import models  # noqa: F401\n")
    try:
        result = _lint_imports()
    finally:
        module.unlink()
    assert result.returncode != 0
    assert "The kernel imports no app BROKEN" in result.stdout
    assert "Layers point one way (README, Architecture) BROKEN" in result.stdout
    assert f"governance.core.{module.stem} -> registry.models" in result.stdout


def _sources() -> list[Path]:
    files = []
    for app in APPS:
        for directory, _, names in os.walk(ROOT / app):
            if "migrations" not in Path(directory).parts:
                # Not the module the contracts test writes and removes: a test in another process
                # could list it and find it gone when it reads it.
                files += [
                    Path(directory) / name
                    for name in names
                    if name.endswith(".py") and not name.startswith(TEMPORARY_MODULE_PREFIX)
                ]
    return sorted(files)


def _marked_long(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A ``# long: <why>`` comment in the comment block right above the def (or its decorators)."""
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    index = first - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        if lines[index].strip().startswith(LONG_MARK) and len(lines[index].strip()) > len(LONG_MARK) + 3:
            return True
        index -= 1
    return False


def _oversized() -> list[str]:
    found = []
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        if len(lines) > MAX_MODULE_LINES and name not in LONG_MODULES:
            found.append(f"{name}: {len(lines)} lines (split it: at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            key = f"{name}:{node.name}"
            if length > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS and not _marked_long(lines, node):
                found.append(
                    f"{name}:{node.lineno} {node.name}: {length} lines (split it, or say why above its def "
                    f"with '{LONG_MARK} <why>')"
                )
    return found


def test_modules_and_functions_are_read_in_one_sitting() -> None:
    assert _oversized() == []


def test_the_size_check_sees_a_long_function_without_a_reason(tmp_path: Path) -> None:
    body = "".join(f"    x{n} = {n}\n" for n in range(MAX_FUNCTION_LINES))
    plain = ast.parse(f"def f():\n{body}").body[0]
    marked_source = f"# long: one table\ndef f():\n{body}"
    marked = ast.parse(marked_source).body[0]
    assert isinstance(plain, ast.FunctionDef) and isinstance(marked, ast.FunctionDef)
    assert not _marked_long(f"def f():\n{body}".splitlines(), plain)
    assert _marked_long(marked_source.splitlines(), marked)


def test_each_allow_listed_exception_says_why() -> None:
    assert all(reason.strip() for reason in {**LONG_FUNCTIONS, **LONG_MODULES}.values())


def _function_level_imports_without_reason() -> list[str]:
    """First-party imports inside a function with no comment saying why (on the line, or in the function
    above it, docstring included): such an import hides a dependency the contracts would otherwise see."""
    found = []
    for path in _sources():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            explained = ast.get_docstring(function) is not None
            for node in ast.walk(function):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                if not any(name.split(".")[0] in APPS for name in names):
                    continue
                before = lines[function.lineno : node.lineno]
                if not (explained or "#" in lines[node.lineno - 1] or any("#" in line for line in before)):
                    found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {', '.join(names)}")
    return found


def test_every_function_level_import_says_why() -> None:
    assert _function_level_imports_without_reason() == []
