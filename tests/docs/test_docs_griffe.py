"""The API reference shows the docstrings' Sphinx roles as code (scripts/docs_griffe.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docs_griffe.py"


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_griffe", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docs_griffe", module)
    spec.loader.exec_module(module)
    return module


def test_roles_become_code_spans_named_as_sphinx_shows_them() -> None:
    rewrite = _extension().rewrite
    assert rewrite("See :class:`~.config.DynamoDBConfig`.") == "See `DynamoDBConfig`."
    assert rewrite(":mod:`._pipeline_registry_hook` and :data:`SETTINGS`") == "`_pipeline_registry_hook` and `SETTINGS`"
    assert rewrite(":py:meth:`Registry.create_tables`") == "`Registry.create_tables`"
    assert rewrite(":class:`the hook <PipelineRegistryHook>`") == "`the hook`"
    # parameter fields are the docstring parser's, not roles: left as they are
    assert rewrite(":param pipeline_id: the pipeline.") == ":param pipeline_id: the pipeline."
