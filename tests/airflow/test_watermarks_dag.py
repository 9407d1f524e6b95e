"""Watermarks in a DAG without the run logger, under ``dag.test()`` against DynamoDB Local: the Load
operator exposes each source's committed watermark (XCom, the job's environment, a template in its
arguments) and the End operator commits the job's new high bound with SUCCESS only."""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any

import pytest
from dag_modules import load_dag_module
from test_operators_dag import task_states, xcoms

from airflow_provider_pipeline_registry.registry.run_env import WATERMARKS_ENV, derive_run_id

pytestmark = [pytest.mark.airflow, pytest.mark.integration]


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    return load_dag_module("watermark_dags.py")


@pytest.fixture
def registry(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch, dags: ModuleType) -> Any:
    """Pipeline ``clicks`` with an integer-watermarked source (never committed) and a target."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    reg = registry_hook.registry
    reg.pipelines_write.create({"pipeline_id": dags.PIPELINE_ID, "name": "Clicks"})
    reg.tables_write.create(
        {
            "table_id": dags.SOURCE,
            "pipeline_id": dags.PIPELINE_ID,
            "table_name": "events",
            "load_type": "incremental",
            "watermark_column": "event_id",
            "watermark_type": "integer",
        }
    )
    reg.tables_write.create(
        {"table_id": "clicks.daily", "pipeline_id": dags.PIPELINE_ID, "table_name": "daily", "role": "target"}
    )
    return reg


def run_once(dags: ModuleType, **conf: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    dr = dags.incremental_dag.test(run_conf=conf)
    return dr, xcoms(dr, "load"), xcoms(dr, "job").get("return_value") or {}


def test_the_load_exposes_the_committed_watermark_and_the_end_commits_the_new_one(
    dags: ModuleType, registry: Any
) -> None:
    source = dags.SOURCE
    # 1. never committed: None everywhere, an empty bound in the job's arguments
    first, load, job = run_once(dags, high=10)
    assert task_states(first) == {"load": "success", "start": "success", "job": "success", "end": "success"}
    assert load["watermarks"] == {source: None}  # the source only, not the target
    assert load["return_value"]["watermarks"] == {source: None}
    assert json.loads(load["run_logger_env"][WATERMARKS_ENV]) == {source: None}
    assert job["application_args"] == ["--since="]
    assert job["env_watermarks"] == {source: None}
    assert registry.tables.watermark(source).value == "10"

    # 2. the next run reads 10 and commits 25
    second, load, job = run_once(dags, high=25)
    assert task_states(second)["end"] == "success"
    assert load["watermarks"] == {source: "10"}
    assert job["application_args"] == ["--since=10"]
    assert job["env_watermarks"] == {source: "10"}
    assert registry.tables.watermark(source).value == "25"
    history = [(e.run_id, e.from_value, e.to_value) for e in registry.tables.watermark_history(source)]
    assert history == [
        (derive_run_id("pr_wm_incremental", first.run_id), None, "10"),
        (derive_run_id("pr_wm_incremental", second.run_id), "10", "25"),
    ]

    # 3. a failed job: the end records FAILED and commits nothing, the next run reads 25 again
    failed, load, _ = run_once(dags, high=99, fail=True)
    assert task_states(failed)["job"] == "failed"
    assert load["watermarks"] == {source: "25"}
    run = registry.runs.find_entity(
        derive_run_id("pr_wm_incremental", failed.run_id), dags.PIPELINE_ID, consistent=True
    )
    assert run.status.value == "FAILED"
    assert registry.tables.watermark(source).value == "25"
    assert len(registry.tables.watermark_history(source)) == 2
    _, load, _ = run_once(dags, high=30)
    assert load["watermarks"] == {source: "25"}
    assert registry.tables.watermark(source).value == "30"


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (None, {}),
        ("", {}),
        ("None", {}),  # a template rendered from a missing XCom without native rendering
        ({"a": "5", "b": "", "c": None, "d": "None"}, {"a": "5"}),
        ('{"a": 7}', {"a": 7}),
    ],
)
def test_end_operator_watermarks_as_rendered(given: Any, parsed: dict[str, Any]) -> None:
    from airflow_provider_pipeline_registry.operators.pipeline_registry import _parse_watermarks

    assert _parse_watermarks(given) == parsed


@pytest.mark.parametrize("given", ["not json", "[1, 2]", ["a"], {1: "x"}])
def test_end_operator_refuses_watermarks_that_are_not_a_dict(given: Any) -> None:
    from airflow_provider_pipeline_registry.operators.pipeline_registry import _parse_watermarks
    from airflow_provider_pipeline_registry.registry.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        _parse_watermarks(given)
    assert caught.value.field == "watermarks"
