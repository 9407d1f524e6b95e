"""Rendering: rich tables for people, plain JSON for scripts. Times in the chosen timezone."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..registry.pipeline_config.models import PipelineConfigView
from ..registry.run_logs.models import PipelineRunLogView, RunStatus
from ..registry.table_config.models import TableConfigView
from ..registry.timezones import format_for_display

STATUS_STYLES = {
    RunStatus.RUNNING: "cyan",
    RunStatus.SUCCESS: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "yellow",
}


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """A view as JSON-ready data: datetimes are ISO-8601 in the view's (the chosen) timezone."""
    return model.model_dump(mode="json")


def echo_json(data: Any) -> None:
    """Plain JSON on stdout (no colours, no wrapping), for scripts."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_error(console: Console, message: str) -> None:
    """``error: <message>`` on the error console; ``message`` is never parsed as markup."""
    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def when(value: datetime | None, tz: tzinfo) -> str:
    """A datetime for display: ``2026-03-08 01:59:30 EST (06:59:30 UTC)``, ``-`` for None."""
    return format_for_display(value, tz)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def status_text(status: RunStatus | str | None) -> Text:
    """A run status coloured by its meaning."""
    if status is None:
        return Text("-")
    status = RunStatus(status)
    return Text(status.value, style=STATUS_STYLES[status])


def key_value_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    """A two-column ``field | value`` table."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in rows:
        table.add_row(name, value if isinstance(value, Text) else Text(_plain(value)))
    return table


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str) if value else "-"
    return str(value)


def _id_column(table: Table, name: str, ids: Iterable[str]) -> None:
    """An id column that other columns give way to (ids are copied into other commands)."""
    table.add_column(name, overflow="fold", min_width=min(max((len(i) for i in ids), default=0), 40) or None)


def pipelines_table(pipelines: Sequence[PipelineConfigView]) -> Table:
    """Pipelines, one row each."""
    table = Table(title=f"{len(pipelines)} pipeline(s)", title_justify="left")
    _id_column(table, "pipeline_id", (p.pipeline_id for p in pipelines))
    for name in ("name", "owner", "active", "schedule", "version"):
        table.add_column(name, overflow="fold")
    for p in pipelines:
        table.add_row(p.pipeline_id, p.name, p.owner, _yes_no(p.is_active), p.schedule or "-", str(p.version))
    return table


def pipeline_detail(pipeline: PipelineConfigView, tz: tzinfo) -> Table:
    """Every field of one pipeline."""
    rows: list[tuple[str, Any]] = [
        ("pipeline_id", pipeline.pipeline_id),
        ("name", pipeline.name),
        ("description", pipeline.description),
        ("owner", pipeline.owner),
        ("active", pipeline.is_active),
        ("schedule", pipeline.schedule),
        ("spark_application", pipeline.spark_application),
        ("spark_conf", pipeline.spark_conf),
        ("spark_args", pipeline.spark_args),
        ("parameters", pipeline.parameters),
        ("tags", pipeline.tags),
        ("version", pipeline.version),
        ("created_at", when(pipeline.created_at, tz)),
        ("updated_at", when(pipeline.updated_at, tz)),
    ]
    return key_value_table(rows, title=f"pipeline {pipeline.pipeline_id}")


def tables_table(tables: Sequence[TableConfigView]) -> Table:
    """Table configs, one row each."""
    table = Table(title=f"{len(tables)} table(s)", title_justify="left")
    _id_column(table, "table_id", (t.table_id for t in tables))
    for name in ("table", "role", "format", "load", "location", "active"):
        table.add_column(name, overflow="fold")
    for t in tables:
        qualified = f"{t.database}.{t.table_name}" if t.database else t.table_name
        table.add_row(
            t.table_id,
            qualified,
            t.role.value,
            t.format.value,
            t.load_type.value,
            t.location or "-",
            _yes_no(t.is_active),
        )
    return table


def runs_table(runs: Sequence[PipelineRunLogView], tz: tzinfo) -> Table:
    """Runs, newest first as given."""
    table = Table(title=f"{len(runs)} run(s)", title_justify="left")
    _id_column(table, "run_id", (r.run_id for r in runs))
    for name in ("status", "try", "start", "end", "duration", "error"):
        table.add_column(name, overflow="fold")
    for r in runs:
        table.add_row(
            r.run_id,
            status_text(r.status),
            str(r.try_number),
            when(r.start_time, tz),
            when(r.end_time, tz),
            _duration(r.duration_seconds),
            r.error_type or "-",
        )
    return table


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f}s"


def run_detail(run: PipelineRunLogView, tz: tzinfo) -> Table:
    """Every field of one run."""
    rows: list[tuple[str, Any]] = [
        ("run_id", run.run_id),
        ("pipeline_id", run.pipeline_id),
        ("status", status_text(run.status)),
        ("try_number", run.try_number),
        ("start_time", when(run.start_time, tz)),
        ("end_time", when(run.end_time, tz)),
        ("heartbeat_at", when(run.heartbeat_at, tz)),
        ("duration", _duration(run.duration_seconds)),
        ("dag_id", run.dag_id),
        ("dag_run_id", run.dag_run_id),
        ("task_id", run.task_id),
        ("attempt_id", run.attempt_id),
        ("started_by", f"{run.start_task_id} (try {run.start_try_number})" if run.start_task_id else None),
        ("map_index", run.map_index),
        ("logical_date", when(run.logical_date, tz)),
        ("spark_application_id", run.spark_application_id),
        ("spark_application_name", run.spark_application_name),
        ("spark_ui_url", run.spark_ui_url),
        ("metrics", run.metrics),
        ("error_type", run.error_type),
        ("error_message", run.error_message),
    ]
    return key_value_table(rows, title=f"run {run.run_id}")


_ATTEMPT_STYLES = {status.value: style for status, style in STATUS_STYLES.items()}


def attempts_table(run: PipelineRunLogView, tz: tzinfo) -> Table:
    """The run's previous attempts (its bounded history), oldest first."""
    table = Table(title=f"{len(run.attempts)} previous attempt(s)", title_justify="left")
    for name in ("try", "task", "status", "start", "end", "spark application", "error", "attempt_id"):
        table.add_column(name, overflow="fold")
    for a in run.attempts:
        error = ": ".join(x for x in (a.error_type, a.error_message) if x) or "-"
        table.add_row(
            str(a.try_number or "-"),
            a.task_id or "-",
            Text(a.status, style=_ATTEMPT_STYLES.get(a.status, "dim")),
            when(a.start_time, tz),
            when(a.end_time, tz),
            a.spark_application_id or "-",
            Text(error),
            a.attempt_id or "-",
        )
    return table


def table_status_table(statuses: Mapping[str, str | None], created: Mapping[str, bool] | None = None) -> Table:
    """The three registry tables and their status (``missing`` when they do not exist)."""
    table = Table(title="registry tables", title_justify="left")
    table.add_column("table", overflow="fold")
    table.add_column("status")
    if created is not None:
        table.add_column("created now")
    for name, status in statuses.items():
        style = "green" if status == "ACTIVE" else ("red" if status is None else "yellow")
        cells: list[Text | str] = [name, Text(status or "missing", style=style)]
        if created is not None:
            cells.append(_yes_no(created.get(name, False)))
        table.add_row(*cells)
    return table
