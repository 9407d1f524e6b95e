"""The same DAG, plus the provider's operators and sensor module imports (what a user's DAG file does)."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_provider_pipeline_registry.operators import pipeline_registry as registry_operators
from airflow_provider_pipeline_registry.sensors import pipeline_registry as registry_sensors

OPERATORS = (registry_operators, registry_sensors)

with DAG("bench_provider", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
