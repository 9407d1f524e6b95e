"""Airflow hooks of the pipeline registry provider."""
