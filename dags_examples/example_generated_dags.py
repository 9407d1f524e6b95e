"""Example 4: one DAG per active pipeline of the registry, generated from a snapshot file.

``pipeline-registry dags snapshot -o dags_examples/pipeline_registry_snapshot.json`` writes the
active pipelines (schedule, owner, tags, description, DAG settings, target tables) to a JSON file;
this file turns each into a DAG ``registry__<pipeline_id>`` holding a ``PipelineRunTaskGroup``.
Parsing it reads that file only: no DynamoDB call, no boto3. A pipeline whose config cannot make a
DAG (a bad schedule, no Spark application) is this file's import error, naming the pipeline and
the field; the other pipelines' DAGs load.

``refresh`` adds the maintenance DAG ``pipeline_registry_dag_snapshot``, which rewrites the
snapshot every 5 minutes: a pipeline imported, changed or deactivated in the registry shows in
the DAGs within 5 minutes + the DAG processor's re-parse interval of this file (README: Pipelines
as code). Without a snapshot file this makes no pipeline DAG.
"""

from __future__ import annotations

# --8<-- [start:registry_dags]
import os
from datetime import timedelta
from pathlib import Path

from airflow_provider_pipeline_registry.dags import registry_dags

SNAPSHOT = os.environ.get(
    "PIPELINE_REGISTRY_DAG_SNAPSHOT", str(Path(__file__).resolve().parent / "pipeline_registry_snapshot.json")
)

registry_dags(
    globals(),
    snapshot=SNAPSHOT,
    dag_id_prefix="registry__",
    spark_conn_id="spark_local",
    refresh=timedelta(minutes=5),
)
# --8<-- [end:registry_dags]
