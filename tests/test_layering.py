"""The layering the house style asks for: contracts and entrypoint are stdlib-only; contracts < everything else."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_entrypoint_imports_only_the_standard_library_the_contracts_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"entrypoint", "contracts", "__future__"}
    for path in sorted((ROOT / "entrypoint").rglob("*.py")):
        outside = _imports(path) - allowed
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_contracts_import_only_the_standard_library_and_themselves() -> None:
    allowed = set(sys.stdlib_module_names) | {"contracts", "__future__"}
    for path in sorted((ROOT / "contracts").rglob("*.py")):
        outside = _imports(path) - allowed
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_import_linter_layers_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
