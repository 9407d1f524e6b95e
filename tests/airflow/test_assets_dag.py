"""Asset events from the registry under real ``dag.test()``: the end operator of a SUCCESS run emits
one event per active target table through the pipeline's alias, with the run's figures as extra;
FAILED, CANCELLED and callback-ended runs emit nothing. DAGs: tests/dags/lineage_dags.py.
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any

import pytest
from dag_modules import load_dag_module

from airflow_provider_pipeline_registry.registry.run_env import derive_run_id

pytestmark = [pytest.mark.needs("airflow-3"), pytest.mark.airflow, pytest.mark.integration]


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> ModuleType:
    return load_dag_module("lineage_dags.py")


def seed_lineage_pipeline(registry: Any, dags: ModuleType) -> None:
    """The pipeline of tests/dags/lineage_dags.py with its tables (dags.TABLES)."""
    registry.pipelines_write.create({"pipeline_id": dags.PIPELINE_ID, "name": "Lineage", "owner": "data-eng"})
    for table in dags.TABLES:
        registry.tables_write.create(
            {"pipeline_id": dags.PIPELINE_ID, "table_name": table["table_id"].split(".")[-1], **table}
        )


@pytest.fixture
def registry(registry_conn_id: str, registry_hook: Any, monkeypatch: pytest.MonkeyPatch, dags: ModuleType) -> Any:
    monkeypatch.setenv(f"AIRFLOW_CONN_{dags.CONN_ID.upper()}", os.environ[f"AIRFLOW_CONN_{registry_conn_id.upper()}"])
    seed_lineage_pipeline(registry_hook.registry, dags)
    return registry_hook.registry


def asset_events(dr: Any) -> list[dict[str, Any]]:
    """The asset events the dag run ``dr`` produced, from Airflow's metadata DB."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.extra, AssetEvent.source_task_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dr.dag_id, AssetEvent.source_run_id == dr.run_id)
            .order_by(AssetModel.uri)
        ).all()
    return [{"uri": uri, "extra": dict(extra or {}), "task_id": task_id} for uri, extra, task_id in rows]


def queued_consumer_assets(consumer_dag_id: str) -> list[str]:
    """URIs of the assets that queued a run of ``consumer_dag_id`` (AssetDagRunQueue)."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(AssetModel.uri)
                .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
                .where(AssetDagRunQueue.target_dag_id == consumer_dag_id)
            ).all()
        )


def clear_consumer_queue(consumer_dag_id: str) -> None:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == consumer_dag_id))


def test_a_successful_run_emits_one_event_per_active_target_table(registry: Any, dags: ModuleType) -> None:
    clear_consumer_queue("pr_lineage_consumer")
    dr = dags.success_dag.test()
    assert str(dr.state) == "success"
    run_id = derive_run_id("pr_lineage_success", dr.run_id, None)
    run = registry.runs.find_entity(run_id, dags.PIPELINE_ID, consistent=True)
    assert run.status.value == "SUCCESS"
    events = asset_events(dr)
    # the inactive target and the sources emit nothing; a target without location gets the registry URI
    assert [e["uri"] for e in events] == ["pipeline-registry://table/lineage.orders_index", dags.CONSUMED_URI]
    assert {e["task_id"] for e in events} == {"end"}
    end_time = json.loads(json.dumps(run.end_time.isoformat()))[:19]
    for event in events:
        extra = event["extra"]
        assert extra["run_id"] == run_id
        assert extra["pipeline_id"] == dags.PIPELINE_ID
        assert extra["try_number"] == run.try_number == 1
        assert extra["records_written"] == 42
        assert extra["end_time"].endswith("Z")
        assert len(extra["end_time"]) == 27
        assert extra["end_time"].replace("T", " ")[:19] == end_time.replace("T", " ")
    assert {e["extra"]["table_id"] for e in events} == {"lineage.orders_index", "lineage.orders_by_day"}
    # the consumer scheduled on the partitioned target's asset is queued by the event (no sensor)
    assert queued_consumer_assets("pr_lineage_consumer") == [dags.CONSUMED_URI]


@pytest.mark.parametrize("dag_name", ["failure_dag", "cancelled_dag", "callback_only_dag"])
def test_failed_cancelled_and_callback_ended_runs_emit_nothing(registry: Any, dags: ModuleType, dag_name: str) -> None:
    clear_consumer_queue("pr_lineage_consumer")
    dag = getattr(dags, dag_name) if dag_name != "callback_only_dag" else dags.callback_dag
    dr = dag.test()
    run = registry.runs.find_entity(derive_run_id(dag.dag_id, dr.run_id, None), dags.PIPELINE_ID, consistent=True)
    expected = {"failure_dag": "FAILED", "cancelled_dag": "CANCELLED", "callback_only_dag": "SUCCESS"}[dag_name]
    assert run.status.value == expected
    assert str(dr.state) == "success"
    assert asset_events(dr) == []
    assert queued_consumer_assets("pr_lineage_consumer") == []


def test_the_end_operator_declares_the_pipeline_alias_and_keeps_user_outlets(dags: ModuleType) -> None:
    from airflow.sdk import Asset, AssetAlias

    from airflow_provider_pipeline_registry.operators.pipeline_registry import EndPipelineRunOperator

    end = dags.success_dag.get_task("end")
    assert end.outlets == [AssetAlias("pipeline-registry:lineage_daily")]
    extra = Asset("s3://lake/also")
    op = EndPipelineRunOperator(task_id="e", pipeline_id="p1", outlets=[extra])
    assert op.outlets == [extra, AssetAlias("pipeline-registry:p1")]
    templated = EndPipelineRunOperator(task_id="t", pipeline_id="{{ params.pipeline }}")
    assert templated.outlets == []
