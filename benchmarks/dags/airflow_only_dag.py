"""Baseline for the DAG-parse benchmark: a DAG that imports only Airflow."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("bench_airflow_only", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
