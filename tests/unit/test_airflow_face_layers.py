"""No import runs back up the Airflow face: a trigger never imports a sensor (the sensor imports the
trigger, and both take the waiter's verdict from the core), a hook never imports what is built on it
(operators, sensors, triggers, notifiers), and a notifier never imports an operator or a sensor.

Read from the source (every ``import``, including those inside functions), so a lazy import that
would only run in the triggerer is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_pipeline_registry"

#: package (folder) -> the packages of the face it must never import
FORBIDDEN = {
    "triggers": {"sensors", "operators", "notifications", "callbacks"},
    "hooks": {"operators", "sensors", "triggers", "notifications", "callbacks"},
    "notifications": {"operators", "sensors", "triggers", "callbacks"},
    "sensors": {"operators", "notifications", "callbacks"},
    # the links, assets and lineage are used by the operators and the UI, never the other way round
    "links": {"plugins", "operators", "sensors", "notifications", "callbacks"},
    "assets": {"plugins", "operators", "sensors", "notifications", "callbacks"},
    "lineage": {"plugins", "sensors", "notifications", "callbacks"},
    "utils": {"plugins", "operators", "sensors", "triggers", "notifications", "callbacks", "links"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level subpackages of the provider that ``path`` imports (absolute or relative)."""
    module_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module_parts[: len(module_parts) - node.level])
                if path.name == "__init__.py":
                    base = list(module_parts[: len(module_parts) - node.level + 1])
                target = [*base, *(node.module.split(".") if node.module else [])]
                if not node.module:  # from .. import sensors
                    names = [".".join([*target, alias.name]) for alias in node.names]
                else:
                    names = [".".join(target)]
            else:
                names = [node.module or ""]
        for name in names:
            parts = name.split(".")
            if parts[0] == PACKAGE.name and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_import_runs_back_up(folder: str) -> None:
    modules = sorted((PACKAGE / folder).rglob("*.py"))
    assert modules, folder
    back_up = {str(path.relative_to(PACKAGE)): sorted(imported_packages(path) & FORBIDDEN[folder]) for path in modules}
    assert {k: v for k, v in back_up.items() if v} == {}


def test_the_reader_sees_relative_and_lazy_imports(tmp_path: Path) -> None:
    sample = PACKAGE / "triggers" / "pipeline_registry.py"
    assert {"registry", "utils", "hooks"} <= imported_packages(sample)  # hooks: imported inside methods
    assert "triggers" in imported_packages(PACKAGE / "sensors" / "pipeline_registry.py")
