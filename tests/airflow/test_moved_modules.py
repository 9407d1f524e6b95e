"""The loose root modules moved into folders (issue 22): the old import paths still give the same
objects, and the new homes import nothing above them (the links never load the UI plugin)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

P = "airflow_provider_pipeline_registry"

#: old path -> (new home, public names the old module had that the new home keeps)
MOVES = {
    f"{P}.compat": (
        f"{P}.utils.compat",
        [
            "AIRFLOW_V_3_1_PLUS",
            "AIRFLOW_V_3_2_PLUS",
            "AIRFLOW_V_3_PLUS",
            "AirflowException",
            "AirflowFailException",
            "AirflowSensorTimeout",
            "AirflowSkipException",
            "BaseOperator",
            "BaseSensorOperator",
            "BaseTrigger",
            "Context",
            "ContextT",
            "PokeReturnValue",
            "TriggerEvent",
            "conf",
            "mask_secret",
            "register_sensitive_var_conn_names",
        ],
    ),
    f"{P}.run_context": (
        f"{P}.utils.run_context",
        [
            "FAILED_STATES",
            "IGNORED_STATES",
            "OK_STATES",
            "airflow_identity",
            "dag_id_of",
            "dag_run_id_of",
            "derive_context_run_id",
            "is_dag_level",
            "spark_env_template",
            "spark_task_env",
            "state_name",
            "task_group_id_of",
            "watched_task_states",
        ],
    ),
    f"{P}.openlineage": (
        f"{P}.lineage",
        [
            "RECORDS_WRITTEN",
            "REGISTRY_RUN_FACET_KEY",
            "REGISTRY_RUN_FACET_SCHEMA_FILE",
            "PipelineRegistryLineageMixin",
            "operator_lineage",
            "registry_run_facet",
            "registry_run_facet_schema",
            "row_counts",
        ],
    ),
    f"{P}.assets": (
        f"{P}.assets.pipeline_registry",
        [
            "asset_event_extra",
            "asset_for_table",
            "emit_end_asset_events",
            "emit_run_asset_events",
            "end_operator_outlets",
            "pipeline_asset_alias",
            "pipeline_assets",
            "pipeline_assets_from_file",
            "target_tables",
        ],
    ),
    f"{P}.links": (
        f"{P}.links.pipeline_registry",
        ["REGISTRY_LINKS", "RegistryRunLink", "SparkUILink", "registry_links"],
    ),
}


@pytest.mark.parametrize("old", sorted(MOVES))
def test_the_old_import_path_gives_the_same_objects(old: str) -> None:
    new_home, names = MOVES[old]
    old_module, new_module = importlib.import_module(old), importlib.import_module(new_home)
    for name in names:
        assert getattr(old_module, name) is getattr(new_module, name), name
    assert set(names) <= set(old_module.__all__)


def test_the_facet_schema_path_keeps_its_meaning() -> None:
    from importlib.resources import files

    from airflow_provider_pipeline_registry.openlineage import REGISTRY_RUN_FACET_SCHEMA_FILE

    assert files(P).joinpath(REGISTRY_RUN_FACET_SCHEMA_FILE).is_file()


def test_the_links_load_neither_the_plugin_nor_boto3(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import {P}.links
        import {P}.operators.pipeline_registry
        import {P}.sensors.pipeline_registry
        leaked = sorted(m for m in sys.modules if m.startswith(("{P}.plugins", "boto3", "botocore")))
        assert not leaked, leaked
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
