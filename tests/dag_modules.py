"""Import a DAG file from tests/dags/ as a module (dag.test() also parses it from the dags folder)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

DAGS_DIR = Path(__file__).resolve().parent / "dags"


def load_dag_module(file_name: str) -> ModuleType:
    """The module of ``tests/dags/<file_name>``, registered in ``sys.modules`` under its stem."""
    path = DAGS_DIR / file_name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
