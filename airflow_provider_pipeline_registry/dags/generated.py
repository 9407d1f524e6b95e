"""``registry_dags(globals(), ...)``: one DAG per active pipeline, from a snapshot file.

A DAG file in the DAG folder::

    from airflow_provider_pipeline_registry.dags import registry_dags

    registry_dags(globals(), snapshot="/opt/airflow/dags/pipeline_registry_snapshot.json",
                  spark_conn_id="spark_local")

Each active pipeline of the snapshot (``pipeline-registry dags snapshot -o FILE``) becomes a DAG
``<prefix><pipeline_id>`` holding a :func:`~.task_group.PipelineRunTaskGroup`, with

* ``schedule``: the pipeline's (``registry.schedules``); ``after:<id>`` becomes the assets of
  that pipeline's active target tables, which its end task emits on SUCCESS;
* ``owner`` (``default_args``), ``tags`` (plus ``pipeline-registry``), ``description`` (else the name);
* the pipeline's ``dag`` map: ``retries``, ``retry_delay``, ``execution_timeout`` (``default_args``),
  ``start_date`` (default: the day the pipeline was created), ``catchup`` (default False),
  ``max_active_runs``, ``dagrun_timeout``.

A pipeline dropped from the registry, or made inactive, is not in the next snapshot, so its DAG
is gone at the next parse. Parsing reads the snapshot file only: no DynamoDB, no boto3.

A pipeline whose config cannot make a DAG fails alone: the DAG file gets an import error naming
the pipeline and the field, and the other pipelines' DAGs load. The mechanism is the DagBag's own
per-DAG check: such a pipeline is put in the module as a DAG whose ``validate()`` raises (Airflow
2.11 and 3 record the file's import error and bag the file's other DAGs); the error is also
logged. Each failing DAG's message lists every failing pipeline of the file, since Airflow keeps
one import error per file.

``refresh=timedelta(...)`` adds a maintenance DAG (``pipeline_registry_dag_snapshot``) that
rewrites the snapshot on that schedule (only when it changed). A change in the registry shows
in the DAGs within the *staleness bound*: ``refresh`` + the DAG processor's re-parse interval of
this file (``[dag_processor] min_file_process_interval``, 30 s by default) + the refresh task's
own run time. Writing the snapshot from CI right after ``config import`` makes it the re-parse
interval alone.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..registry.dag_snapshot import read_snapshot
from ..registry.errors import ValidationError
from ..registry.schedules import parse_dag_settings, parse_schedule
from .task_group import DEFAULT_SPARK_CONN_ID

if TYPE_CHECKING:
    from airflow.sdk import DAG

log = logging.getLogger(__name__)

SNAPSHOT_DAG_ID = "pipeline_registry_dag_snapshot"
DEFAULT_TAG = "pipeline-registry"
#: what the snapshot variable names, when ``snapshot`` is not given
SNAPSHOT_ENV = "PIPELINE_REGISTRY_DAG_SNAPSHOT"


class PipelineDagError(ValidationError):
    """A pipeline whose config cannot make a DAG: names the pipeline and the field."""

    def __init__(self, pipeline_id: str, field: str, message: str) -> None:
        self.pipeline_id = pipeline_id
        super().__init__(f"pipeline {pipeline_id!r}: {field}: {message}", field=field)


@dataclass
class RegistryDags:
    """What :func:`registry_dags` did: the DAGs it put in the module and the pipelines that failed."""

    dags: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, PipelineDagError] = field(default_factory=dict)
    snapshot_written_at: str | None = None


def _dag_id(prefix: str, pipeline_id: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_.-]", "_", pipeline_id)


def _start_date(entry: Mapping[str, Any]) -> datetime:
    created = entry.get("created_at")
    try:
        day = datetime.fromisoformat(str(created).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        day = datetime(2026, 1, 1, tzinfo=UTC)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def _dag_arguments(
    entry: Mapping[str, Any], targets_of: Mapping[str, list[str]], default_args: Mapping[str, Any]
) -> dict[str, Any]:
    """The DAG arguments of one snapshot entry; PipelineDagError naming the field that cannot make one."""
    from airflow.providers.common.compat.sdk import Asset

    pipeline_id = str(entry.get("pipeline_id") or "")
    try:
        schedule = parse_schedule(entry.get("schedule"), pipeline_id=pipeline_id)
        settings = parse_dag_settings(entry.get("dag") or {})
    except ValidationError as exc:
        raise PipelineDagError(pipeline_id, exc.field or "schedule", exc.errors[0]["message"]) from None
    if not entry.get("spark_application"):
        raise PipelineDagError(pipeline_id, "spark_application", "missing: the pipeline has no Spark application")
    value: Any
    if schedule.kind == "none":
        value = None
    elif schedule.kind == "duration":
        value = schedule.interval
    elif schedule.kind == "after":
        uris: list[str] = []
        for upstream in schedule.after:
            if upstream not in targets_of:
                raise PipelineDagError(
                    pipeline_id, "schedule", f"after: pipeline {upstream!r} is not active in the registry"
                )
            if not targets_of[upstream]:
                raise PipelineDagError(
                    pipeline_id, "schedule", f"after: pipeline {upstream!r} has no active target table to run after"
                )
            uris.extend(u for u in targets_of[upstream] if u not in uris)
        value = [Asset(uri) for uri in uris]
    else:
        value = schedule.value
    args: dict[str, Any] = {**default_args, "owner": str(entry.get("owner") or "unknown")}
    for name in ("retries", "retry_delay", "execution_timeout"):
        if getattr(settings, name) is not None:
            args[name] = getattr(settings, name)
    tags = [DEFAULT_TAG, *(str(t) for t in entry.get("tags") or [] if str(t) != DEFAULT_TAG)]
    arguments: dict[str, Any] = {
        "schedule": value,
        "start_date": settings.start_date or _start_date(entry),
        "catchup": bool(settings.catchup) if settings.catchup is not None else False,
        "default_args": args,
        "tags": tags,
        "description": str(entry.get("description") or entry.get("name") or pipeline_id)[:2000],
    }
    if settings.max_active_runs is not None:
        arguments["max_active_runs"] = settings.max_active_runs
    elif schedule.kind == "preset" and schedule.value == "@continuous":
        arguments["max_active_runs"] = 1
    if settings.dagrun_timeout is not None:
        arguments["dagrun_timeout"] = settings.dagrun_timeout
    return arguments


def _broken_dag(dag_id: str, message: str, fileloc: str | None) -> Any:
    """A DAG the DagBag refuses with ``message`` (its ``validate()`` raises): the file's import error."""
    from airflow.providers.common.compat.sdk import DAG

    from ..utils.compat import AirflowException

    class _PipelineDagImportError(DAG):
        def validate(self) -> None:
            raise AirflowException(message)

    dag = _PipelineDagImportError(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC))
    if fileloc:
        dag.fileloc = fileloc
    return dag


def registry_dags(
    module_globals: MutableMapping[str, Any],
    *,
    snapshot: str | os.PathLike[str] | None = None,
    dag_id_prefix: str = "",
    aws_conn_id: str | None = DEFAULT_CONN_ID,
    spark_conn_id: str = DEFAULT_SPARK_CONN_ID,
    default_args: Mapping[str, Any] | None = None,
    refresh: timedelta | None = None,
    refresh_dag_id: str = SNAPSHOT_DAG_ID,
    only_tags: Collection[str] | None = None,
    **group_options: Any,
) -> RegistryDags:
    """Put one DAG per pipeline of ``snapshot`` into ``module_globals`` (a DAG file's ``globals()``).

    :param snapshot: the snapshot file (default: ``$PIPELINE_REGISTRY_DAG_SNAPSHOT``, else
        ``pipeline_registry_snapshot.json`` beside the DAG file). A missing file makes no DAG
        (and logs a warning); an unreadable one is the file's import error.
    :param dag_id_prefix: put before each pipeline id to make the DAG id.
    :param aws_conn_id: the registry connection of the tasks (and of the refresh DAG).
    :param spark_conn_id: the Spark connection of the Spark tasks.
    :param default_args: the DAGs' ``default_args`` under the pipeline's own.
    :param refresh: add the maintenance DAG that rewrites the snapshot on this schedule.
    :param only_tags: make DAGs only of the pipelines carrying one of these tags (e.g. one DAG
        file per team); the others are left to other files.
    :param group_options: more arguments of each :func:`~.task_group.PipelineRunTaskGroup`.
    """
    from airflow.providers.common.compat.sdk import DAG

    from .task_group import PipelineRunTaskGroup

    fileloc = module_globals.get("__file__")
    path = Path(
        snapshot or os.environ.get(SNAPSHOT_ENV) or Path(str(fileloc or ".")).parent / "pipeline_registry_snapshot.json"
    )
    result = RegistryDags()
    if refresh is not None:
        module_globals[_identifier(refresh_dag_id)] = snapshot_refresh_dag(
            path,
            refresh_dag_id=refresh_dag_id,
            schedule=refresh,
            aws_conn_id=aws_conn_id,
            registry_options=group_options.get("registry_options"),
        )
    if not path.exists():
        log.warning(
            "pipeline-registry: no DAG snapshot at %s (write it with `pipeline-registry dags snapshot -o %s`)",
            path,
            path,
        )
        return result
    document = read_snapshot(path)
    result.snapshot_written_at = document.get("written_at")
    entries = [e for e in document["pipelines"] if isinstance(e, Mapping) and e.get("pipeline_id")]
    targets_of = {str(e["pipeline_id"]): [str(u) for u in e.get("targets") or []] for e in entries}
    wanted = set(only_tags or ())
    built: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry in entries:
        if wanted and not wanted.intersection(str(t) for t in entry.get("tags") or []):
            continue
        pipeline_id = str(entry["pipeline_id"])
        dag_id = _dag_id(dag_id_prefix, pipeline_id)
        try:
            if dag_id in built or dag_id in result.errors:
                raise PipelineDagError(pipeline_id, "pipeline_id", f"its DAG id {dag_id!r} is another pipeline's")
            built[dag_id] = (pipeline_id, _dag_arguments(entry, targets_of, default_args or {}))
        except PipelineDagError as exc:
            result.errors[dag_id] = exc
    for dag_id, (pipeline_id, arguments) in built.items():
        with DAG(dag_id=dag_id, **arguments) as dag:
            PipelineRunTaskGroup(pipeline_id, aws_conn_id=aws_conn_id, spark_conn_id=spark_conn_id, **group_options)
        module_globals[_identifier(dag_id)] = dag
        result.dags[dag_id] = dag
    if result.errors:
        message = "; ".join(str(e) for e in result.errors.values())
        for dag_id, error in result.errors.items():
            log.error("pipeline-registry: no DAG for %s", error)
            module_globals[_identifier(dag_id)] = _broken_dag(dag_id, message, fileloc)
    return result


def _identifier(dag_id: str) -> str:
    return "dag__" + re.sub(r"\W", "_", dag_id)


def snapshot_refresh_dag(
    path: str | os.PathLike[str],
    *,
    refresh_dag_id: str = SNAPSHOT_DAG_ID,
    schedule: timedelta = timedelta(minutes=5),
    aws_conn_id: str | None = DEFAULT_CONN_ID,
    registry_options: Mapping[str, Any] | None = None,
) -> DAG:
    """The maintenance DAG: one task that rewrites the snapshot at ``path`` (only when it changed)."""
    from airflow.providers.common.compat.sdk import DAG, task

    target = str(path)
    options = dict(registry_options or {})

    with DAG(
        dag_id=refresh_dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=[DEFAULT_TAG, "maintenance"],
        description="Rewrites the snapshot the generated pipeline DAGs are built from",
        default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    ) as dag:

        @task(task_id="write_snapshot")
        def write_snapshot_task() -> dict[str, Any]:
            from ..hooks.pipeline_registry import PipelineRegistryHook
            from ..registry.dag_snapshot import build_snapshot, write_snapshot

            hook = PipelineRegistryHook(aws_conn_id=aws_conn_id, **options)
            document = build_snapshot(hook.registry)
            changed = write_snapshot(target, document)
            log.info(
                "Snapshot %s: %d pipeline(s), %s",
                target,
                len(document["pipelines"]),
                "rewritten" if changed else "unchanged",
            )
            return {"pipelines": len(document["pipelines"]), "changed": changed}

        write_snapshot_task()
    return dag


__all__ = ["PipelineDagError", "RegistryDags", "registry_dags", "snapshot_refresh_dag"]
