"""The ``pipeline-registry`` command-line tool (typer + rich) over the registry core.

It never imports Airflow: the CLI must start fast and run where Airflow is not installed.
"""
