"""Generated DAGs on the real deployment (tests/deployment/test_generated_deployment.py).

One DAG ``gen__<pipeline_id>`` per active pipeline tagged ``deploy-generated`` of the snapshot at
``$PIPELINE_REGISTRY_DAG_SNAPSHOT`` (the test writes it with ``pipeline-registry dags snapshot``),
and the snapshot's maintenance DAG (``pipeline_registry_dag_snapshot``, every 12 hours: the test
triggers it). No snapshot yet: no pipeline DAG.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow_provider_pipeline_registry.dags import registry_dags

registry_dags(
    globals(),
    snapshot=os.environ["PIPELINE_REGISTRY_DAG_SNAPSHOT"],
    dag_id_prefix="gen__",
    spark_conn_id="spark_local",
    only_tags=["deploy-generated"],
    refresh=timedelta(hours=12),
    load_kwargs={"heartbeat_seconds": 2},
)
