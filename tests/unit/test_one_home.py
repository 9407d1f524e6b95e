"""One home per concept (issue 22): a literal the provider depends on is declared once in the
package and imported everywhere else, so the copies cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import airflow_provider_pipeline_registry

PACKAGE = Path(airflow_provider_pipeline_registry.__file__).parent


def occurrences(pattern: str) -> list[str]:
    """``path:line`` of every line of the package's Python source matching ``pattern``."""
    return [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line)
    ]


def test_the_default_connection_id_has_one_home() -> None:
    from airflow_provider_pipeline_registry.hooks import pipeline_registry as hooks
    from airflow_provider_pipeline_registry.plugins import settings

    assert settings.DEFAULT_CONN_ID is hooks.DEFAULT_CONN_ID
    assert [w.split(":")[0] for w in occurrences(r"[\"']aws_default[\"']")] == ["hooks/pipeline_registry.py"]


def test_xcom_keys_and_default_task_ids_have_one_home() -> None:
    """The keys the operators push and the Jinja the Spark task renders are built from one module."""
    from airflow_provider_pipeline_registry import xcom_keys
    from airflow_provider_pipeline_registry.run_context import spark_env_template, spark_task_env

    template = spark_env_template()
    assert f"task_ids={xcom_keys.DEFAULT_LOAD_TASK_ID!r}, key={xcom_keys.XCOM_RUN_LOGGER_ENV!r}" in template
    assert f"task_ids={xcom_keys.DEFAULT_START_TASK_ID!r}, key={xcom_keys.XCOM_ATTEMPT_ID!r}" in template
    assert f"key={xcom_keys.XCOM_ATTEMPT_ID!r}" in spark_task_env()["PIPELINE_REGISTRY_ATTEMPT_ID"]
    keys = [xcom_keys.XCOM_ATTEMPT_ID, xcom_keys.XCOM_RUN_LOGGER_ENV, xcom_keys.XCOM_SPARK_CONF]
    keys += [xcom_keys.XCOM_APPLICATION_ARGS, xcom_keys.XCOM_APPLICATION, xcom_keys.XCOM_RUN_ID]
    # no XCom key or task id written as a literal in a pull, a push or a Jinja string
    assert occurrences(r"xcom_(pull|push)\([^)]*(key|task_ids)\s*=\s*\\?[\"']") == []
    for value in (xcom_keys.DEFAULT_LOAD_TASK_ID, xcom_keys.DEFAULT_START_TASK_ID):
        assert occurrences(rf"[\"']{value}[\"']") == [f"xcom_keys.py:{_line_of(value)}"], value
    for value in keys:  # each key declared once (the operators import it)
        assert occurrences(rf"^XCOM_\w+ = [\"']{value}[\"']") == [f"xcom_keys.py:{_line_of(value)}"], value


def _line_of(value: str) -> int:
    lines = (PACKAGE / "xcom_keys.py").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.endswith(f' = "{value}"'))


def test_table_field_duration_format_version_check_and_page_limit_have_one_home() -> None:
    from airflow_provider_pipeline_registry.cli.render import duration_text
    from airflow_provider_pipeline_registry.registry.timezones import format_duration

    # one reader of a table's fields (config, view or mapping) for lineage names, assets, OpenLineage
    assert occurrences(r"def _?(table_)?field\(") == ["registry/lineage_names.py:173"]
    # one duration format, the CLI's and the UI's
    assert duration_text is format_duration
    assert [format_duration(s) for s in (None, 4.25, 185, 7384)] == ["-", "4.2s", "3m05s", "2h03m04s"]
    assert len(occurrences(r"divmod\(\w+, 3600\)")) == 1
    # one Airflow version check, in utils/compat.py
    assert [w.split(":")[0] for w in occurrences(r"from airflow import __version__")] == ["utils/compat.py"]
    # one page limit for the UI's API, enforced by the service and declared to FastAPI from it
    service = (PACKAGE / "plugins" / "service.py").read_text(encoding="utf-8").splitlines()
    declared = next(number for number, line in enumerate(service, 1) if line == "MAX_LIMIT = 500")
    assert [w for w in occurrences(r"\b500\b") if w.startswith("plugins/")] == [f"plugins/service.py:{declared}"]
