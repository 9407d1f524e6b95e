"""Generated DAGs: ``pipeline-registry dags snapshot`` -> ``registry_dags(globals(), ...)`` -> one
DAG per active pipeline. Each parse runs in a fresh interpreter with sockets forbidden
(``parse_probe.py``): it reads the snapshot file only, imports no boto3, opens no socket."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airflow_provider_pipeline_registry.cli.app import app
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.errors import ValidationError

pytestmark = [pytest.mark.airflow]

PROBE = Path(__file__).resolve().parent / "parse_probe.py"
DAG_FILE = """
from airflow_provider_pipeline_registry.dags import registry_dags

registry_dags(globals(), snapshot={snapshot!r}, dag_id_prefix="reg__", spark_conn_id="spark_local",
              default_args={{"retries": 1}})
"""
TASKS = ["load_config", "start_run", "run_spark_job", "end_run"]


def parse(folder: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(folder)], capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith('{"dags"')]
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]
    assert lines, proc.stderr[-4000:] + proc.stdout[-2000:]
    result: dict[str, Any] = json.loads(lines[-1])
    assert result["sockets"] == [], result["sockets"]
    assert result["heavy"] == [], f"parsing imported {result['heavy']}"
    return result


def dag_folder(tmp_path: Path, snapshot: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    (folder / "registry_dags.py").write_text(DAG_FILE.format(snapshot=str(snapshot)))
    return folder


def entry(pipeline_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "pipeline_id": pipeline_id,
        "name": f"{pipeline_id} name",
        "owner": "team-a",
        "schedule": "@daily",
        "tags": ["sales"],
        "dag": {},
        "spark_application": f"s3://jobs/{pipeline_id}.py",
        "version": 1,
        "created_at": "2026-02-03T04:05:06.000000Z",
        "updated_at": "2026-02-03T04:05:06.000000Z",
        # file:// targets: an Asset("s3://...") makes Airflow load the amazon provider's URI normaliser,
        # which imports boto3 (Airflow's behaviour for any s3 asset; README: Pipelines as code)
        "targets": [f"file:///lake/{pipeline_id}/out"],
        **fields,
    }


def write(path: Path, pipelines: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"format": 1, "written_at": "2026-02-03T04:05:06.000000Z", "pipelines": pipelines}))
    return path


def test_a_snapshot_of_n_pipelines_gives_n_dags_with_their_schedule_owner_tags_and_settings(tmp_path: Path) -> None:
    snapshot = write(
        tmp_path / "snap.json",
        [
            entry("cron_p", schedule="30 2 * * 1-5", owner="alice", tags=["x", "y"], description="the cron one"),
            entry("preset_p", schedule="@hourly", dag={"retries": 3, "catchup": True, "start_date": "2026-01-15"}),
            entry("every_p", schedule="PT6H"),
            entry("manual_p", schedule="manual"),
            entry("after_p", schedule="after:cron_p, preset_p"),
        ],
    )
    result = parse(dag_folder(tmp_path, snapshot))
    assert result["import_errors"] == {}
    dags = result["dags"]
    assert set(dags) == {"reg__cron_p", "reg__preset_p", "reg__every_p", "reg__manual_p", "reg__after_p"}
    cron = dags["reg__cron_p"]
    assert cron["schedule"] == "30 2 * * 1-5"
    assert cron["owner"] == "alice"
    assert cron["tags"] == ["pipeline-registry", "x", "y"]
    assert cron["description"] == "the cron one"
    assert cron["retries"] == 1  # the file's default_args
    assert cron["catchup"] is False
    assert cron["start_date"].startswith("2026-02-03T00:00:00")  # the day the pipeline was created
    assert cron["tasks"] == [f"cron_p.{t}" for t in TASKS]
    preset = dags["reg__preset_p"]
    assert (preset["schedule"], preset["retries"], preset["catchup"]) == ("@hourly", 3, True)
    assert preset["start_date"].startswith("2026-01-15T00:00:00")
    assert dags["reg__preset_p"]["description"] == "preset_p name"
    assert dags["reg__every_p"]["schedule"] == "6:00:00"
    assert dags["reg__manual_p"]["schedule"] is None
    # after: scheduled on the upstream pipelines' target-table assets (what their end tasks emit)
    assert dags["reg__after_p"]["schedule"] == ["file:///lake/cron_p/out", "file:///lake/preset_p/out"]


def test_a_config_that_cannot_make_a_dag_fails_alone_naming_the_pipeline_and_the_field(tmp_path: Path) -> None:
    snapshot = write(
        tmp_path / "snap.json",
        [
            entry("good_p"),
            entry("bad_cron", schedule="0 25 * * *"),
            entry("no_app", spark_application=None),
            entry("bad_after", schedule="after:nowhere"),
            entry("bad_retries", dag={"retries": -2}),
        ],
    )
    result = parse(dag_folder(tmp_path, snapshot))
    assert set(result["dags"]) == {"reg__good_p"}
    assert len(result["import_errors"]) == 1
    [error] = result["import_errors"].values()
    assert "pipeline 'bad_cron': schedule: cron hour field '25'" in error
    assert "pipeline 'no_app': spark_application: missing" in error
    assert "pipeline 'bad_after': schedule: after: pipeline 'nowhere' is not active" in error
    assert "pipeline 'bad_retries': dag.retries: must be a whole number >= 0" in error
    assert "good_p" not in error


def test_no_snapshot_file_makes_no_dag_and_no_error(tmp_path: Path) -> None:
    result = parse(dag_folder(tmp_path, tmp_path / "missing.json"))
    assert result["dags"] == {}
    assert result["import_errors"] == {}


@pytest.mark.integration
def test_the_cli_snapshot_follows_the_registry_new_pipelines_appear_inactive_ones_disappear(
    tmp_path: Path, dynamodb_endpoint: str, registry: Registry
) -> None:
    unique_prefix = str(registry.config.table_prefix)
    for pipeline_id, schedule in (("orders", "0 3 * * *"), ("billing", "after:orders"), ("paused", "@daily")):
        registry.pipelines_write.create(
            {
                "pipeline_id": pipeline_id,
                "name": pipeline_id,
                "owner": "ops",
                "schedule": schedule,
                "tags": ["t1"],
                "spark_application": f"/jobs/{pipeline_id}.py",
                "spark_conf": {"spark.hadoop.fs.s3a.secret.key": "cliSnapSecret-1234"},
                "is_active": pipeline_id != "paused",
            }
        )
    registry.tables_write.create(
        {
            "table_id": "orders.out",
            "pipeline_id": "orders",
            "table_name": "out",
            "role": "target",
            "location": "/lake/orders/out",
        }
    )
    registry.tables_write.create(
        {
            "table_id": "orders.in",
            "pipeline_id": "orders",
            "table_name": "in",
            "role": "source",
            "location": "s3://lake/raw",
        }
    )
    snapshot = tmp_path / "snap.json"
    cli = CliRunner()
    base = ["--endpoint-url", dynamodb_endpoint, "--table-prefix", unique_prefix]
    result = cli.invoke(app, [*base, "dags", "snapshot", "-o", str(snapshot)])
    assert result.exit_code == 0, result.output
    assert f"wrote {snapshot} (2 active pipeline(s))" in result.output
    assert "cliSnapSecret" not in snapshot.read_text()  # the file is readable by every DAG author
    parsed = parse(dag_folder(tmp_path, snapshot))
    assert parsed["import_errors"] == {}
    assert set(parsed["dags"]) == {"reg__orders", "reg__billing"}
    assert parsed["dags"]["reg__orders"]["schedule"] == "0 3 * * *"
    assert parsed["dags"]["reg__orders"]["owner"] == "ops"
    assert parsed["dags"]["reg__billing"]["schedule"] == ["file:///lake/orders/out"]

    # unchanged registry: the file is not rewritten
    again = cli.invoke(app, [*base, "dags", "snapshot", "-o", str(snapshot)])
    assert again.exit_code == 0, again.output
    assert "unchanged:" in again.output

    # a new pipeline appears, a deactivated one disappears (and its dependant fails alone, named)
    registry.pipelines_write.create(
        {"pipeline_id": "fresh", "name": "fresh", "schedule": "PT1H", "spark_application": "/jobs/fresh.py"}
    )
    registry.pipelines_write.update("orders", {"is_active": False})
    result = cli.invoke(app, [*base, "dags", "snapshot", "-o", str(snapshot)])
    assert result.exit_code == 0, result.output
    parsed = parse(dag_folder(tmp_path, snapshot))
    assert set(parsed["dags"]) == {"reg__fresh"}
    [error] = parsed["import_errors"].values()
    assert "pipeline 'billing': schedule: after: pipeline 'orders' is not active" in error


@pytest.mark.integration
def test_schedule_and_dag_settings_are_checked_when_written(registry: Registry) -> None:
    with pytest.raises(ValidationError) as bad:
        registry.pipelines_write.create({"pipeline_id": "p", "name": "p", "schedule": "every day"})
    assert bad.value.field == "schedule"
    with pytest.raises(ValidationError) as bad_dag:
        registry.pipelines_write.create({"pipeline_id": "p", "name": "p", "dag": {"retrys": 2}})
    assert bad_dag.value.field == "dag"
    assert "retrys" in str(bad_dag.value)
    registry.pipelines_write.create({"pipeline_id": "p", "name": "p", "schedule": "@daily"})
    with pytest.raises(ValidationError) as bad_update:
        registry.pipelines_write.update("p", {"schedule": "P1M"})
    assert bad_update.value.field == "schedule"
    assert "months or years" in str(bad_update.value)
    assert registry.pipelines.get_by_id("p").schedule == "@daily"
