"""The local DMS must not share the provider's rules: no module in ``local/`` imports one.

A rule written once and used by both the operators and the emulator that checks them would let
a wrong assumption pass on both sides (docs/emulator.md, "Independence").
"""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_neon_dms.local

LOCAL_DIR = Path(airflow_neon_dms.local.__file__).parent
PACKAGE = "airflow_neon_dms"

#: (module file, imported provider module) pairs allowed for now, each with its reason.
ALLOWED = {
    # The demo runs the provider's example DAG and prints the DAG's own report the way the
    # provider formats it. It decides nothing with it: its verdict comes from its own row counts
    # and checksums of both databases.
    ("demo.py", "airflow_neon_dms.migration_report"),
}


def _provider_imports(path: Path) -> set[str]:
    """Modules of the provider outside ``airflow_neon_dms.local`` that ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: local/ is airflow_neon_dms.local
                parts = ["airflow_neon_dms", "local"][: max(0, 3 - node.level)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names = [base] + [f"{base}.{alias.name}" for alias in node.names if base == PACKAGE]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            inside = name == PACKAGE or name.startswith(PACKAGE + ".")
            if inside and name != PACKAGE and not name.startswith(f"{PACKAGE}.local"):
                found.add(name)
    return found


def test_local_modules_import_no_provider_rules() -> None:
    offending = {
        (path.name, module)
        for path in sorted(LOCAL_DIR.glob("*.py"))
        for module in _provider_imports(path)
        if (path.name, module) not in ALLOWED
    }
    assert not offending, (
        "The local DMS imports provider modules; give the emulator its own implementation, written "
        f"from AWS's or Neon's documentation: {sorted(offending)}"
    )


def test_allowed_exceptions_are_still_needed() -> None:
    stale = {(name, module) for name, module in ALLOWED if module not in _provider_imports(LOCAL_DIR / name)}
    assert not stale, f"remove these entries from ALLOWED, the import is gone: {sorted(stale)}"


def test_the_scan_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import airflow_neon_dms.neon\n"
        "from airflow_neon_dms import mappings_match\n"
        "from airflow_neon_dms.exceptions import NeonDmsError\n"
        "from .. import identifiers\n"
        "from . import faults\n"
        "from airflow_neon_dms.local.models import Task\n"
        "def later():\n"
        "    import importlib\n"
        "    importlib.import_module('airflow_neon_dms.dms.states')\n"
    )
    assert _provider_imports(sample) == {
        "airflow_neon_dms.neon",
        "airflow_neon_dms.mappings_match",
        "airflow_neon_dms.exceptions",
        "airflow_neon_dms.identifiers",
        "airflow_neon_dms.dms.states",
    }
