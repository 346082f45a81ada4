"""The library's shape, read from its source with `ast`: module and function sizes, and
which package may import which (docs/architecture.md).

Library modules stay under 400 lines and functions under 60 lines (docstrings excluded; the
benchmarks' functions too), and each layer imports only the layers below it: `heads` nothing
of `tfx_heads`, the components nothing of the pipeline, Kubeflow or the command line, the
pipeline nothing of Kubeflow or the command line.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
LIBRARY = ("heads", "components", "pipeline", "kubeflow", "cli")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
FORBIDDEN_IMPORTS = {
    "heads": ("tfx_heads",),
    "components": ("tfx_heads.pipeline", "tfx_heads.kubeflow", "tfx_heads.cli"),
    "pipeline": ("tfx_heads.kubeflow", "tfx_heads.cli"),
}
"""Folder to the import names its modules must not import (at any depth of the module)."""


def _modules(*folders: str) -> list[pathlib.Path]:
    return sorted(path for folder in folders for path in (REPOSITORY / folder).rglob("*.py"))


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the `def` to the function's end, less its docstring's."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
    return lines


def _imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_library_is_found():
    assert len(_modules(*LIBRARY)) > 50


def test_no_library_module_over_400_lines():
    long = {
        str(path.relative_to(REPOSITORY)): lines
        for path in _modules(*LIBRARY)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_over_60_lines():
    long = {
        f"{path.relative_to(REPOSITORY)}:{node.lineno} {node.name}": lines
        for path in _modules(*LIBRARY, "benchmarks")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (lines := _function_lines(node)) > MAX_FUNCTION_LINES
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (docstrings excluded): {long}"


@pytest.mark.parametrize("folder", sorted(FORBIDDEN_IMPORTS))
def test_no_upward_imports(folder):
    forbidden = FORBIDDEN_IMPORTS[folder]
    upward = {
        str(path.relative_to(REPOSITORY)): sorted(
            name
            for name in _imported_names(ast.parse(path.read_text()))
            if any(name == top or name.startswith(f"{top}.") for top in forbidden)
        )
        for path in _modules(folder)
    }
    upward = {module: names for module, names in upward.items() if names}
    assert not upward, f"{folder}/ imports from layers above it: {upward}"


def test_the_counter_excludes_docstrings_only():
    tree = ast.parse('def f():\n    """One\n    two."""\n    a = 1\n    return a\n')
    assert _function_lines(tree.body[0]) == 3
