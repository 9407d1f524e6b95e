"""Helpers of the Airflow face: :mod:`.compat` (the one place Airflow names and version checks come
from) and :mod:`.run_context` (a task's Airflow identity, run id and watched task states)."""
