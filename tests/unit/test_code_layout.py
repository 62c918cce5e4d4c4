"""The layout rules that ruff and import-linter do not check: short functions, and the key
store built only in bootstraps."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
MAX_FUNCTION_LINES = 80


def _python_files() -> list[Path]:
    return sorted(p for p in SERVICES.rglob("*.py") if "__pycache__" not in p.parts)


def long_functions(limit: int = MAX_FUNCTION_LINES) -> list[str]:
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - first + 1
                if length > limit:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {length}")
    return found


def test_no_function_in_services_is_longer_than_80_lines() -> None:
    assert long_functions() == []


def test_the_key_store_is_built_only_in_bootstraps() -> None:
    callers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _python_files()
        if path.name != "bootstrap.py" and path.parent.name != "personal_data"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "default_keystore()" in line or "Keystore.from_env(" in line
    ]
    assert callers == []


if __name__ == "__main__":
    print("\n".join(long_functions()))
