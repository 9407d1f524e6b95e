"""The API reference shows the docstrings' Sphinx roles as code (scripts/docs_griffe.py)."""

from __future__ import annotations

from doc_pages import docs_script


def test_roles_become_code_spans_named_as_sphinx_shows_them() -> None:
    rewrite = docs_script("docs_griffe").rewrite
    assert rewrite("See :class:`~.config.DynamoDBConfig`.") == "See `DynamoDBConfig`."
    assert rewrite(":mod:`._pipeline_registry_hook` and :data:`SETTINGS`") == "`_pipeline_registry_hook` and `SETTINGS`"
    assert rewrite(":py:meth:`Registry.create_tables`") == "`Registry.create_tables`"
    assert rewrite(":class:`the hook <PipelineRegistryHook>`") == "`the hook`"
    # parameter fields are the docstring parser's, not roles: left as they are
    assert rewrite(":param pipeline_id: the pipeline.") == ":param pipeline_id: the pipeline."
