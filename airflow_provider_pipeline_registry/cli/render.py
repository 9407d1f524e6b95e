"""Rendering: rich tables for people, plain JSON for scripts. Times in the chosen timezone.

Every view is redacted before it is rendered (:func:`shown`): values under sensitive key names,
URL userinfo and ``password=``-style pairs read ``***`` (:mod:`..registry.redaction`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from ..registry.redaction import redact_mapping, redact_model, redact_text
from ..registry.timezones import format_duration, format_for_display

if TYPE_CHECKING:
    # rich loads on first rendering, so that `--help` stays as cheap as typer alone
    from pydantic import BaseModel
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table
    from rich.text import Text

    from ..registry.pipeline_config.models import PipelineConfigView
    from ..registry.run_logs.models import PipelineRunLogView, RunStatus
    from ..registry.table_config.models import TableConfigView

STATUS_STYLES = {
    "RUNNING": "cyan",
    "SUCCESS": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
}

#: the widest an id column is made before other columns give way (ids are copied into commands)
ID_MIN_WIDTH = 40
#: the narrowest a non-id column is squeezed to before the layout turns vertical
CELL_MIN_WIDTH = 16


M = TypeVar("M", bound="BaseModel")


def shown(model: M) -> M:
    """A copy of a view holding what may be shown (secrets masked)."""
    return redact_model(model)


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """A view as JSON-ready data, secrets masked: datetimes are ISO-8601 in the view's (the chosen) timezone."""
    return redact_mapping(shown(model).model_dump(mode="json"))


def echo_json(data: Any) -> None:
    """Plain JSON on stdout (no colours, no wrapping), for scripts."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_error(console: Console, message: str) -> None:
    """``error: <message>`` on the error console; ``message`` is never parsed as markup."""
    from rich.text import Text

    console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)


def when(value: datetime | None, tz: tzinfo) -> str:
    """A datetime for display: ``2026-03-08 01:59:30 EST (06:59:30 UTC)``, ``-`` for None."""
    return format_for_display(value, tz)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def status_text(status: RunStatus | str | None) -> Text:
    """A run status coloured by its meaning."""
    from rich.text import Text

    if status is None:
        return Text("-")
    value = str(getattr(status, "value", status))
    return Text(value, style=STATUS_STYLES.get(value, ""))


def key_value_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    """A two-column ``field | value`` table."""
    from rich.table import Table
    from rich.text import Text

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


class FitTable:
    """Rows as a table when every column fits the terminal, else one block of ``column  value``
    lines per row (with a note saying so): no column is ever cut off or left out."""

    def __init__(
        self,
        title: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[str | Text]],
        *,
        key_columns: int = 1,
        min_widths: Mapping[str, int] | None = None,
        hint: str = "widen the terminal or use --json",
    ) -> None:
        """``min_widths``: columns that need more than CELL_MIN_WIDTH to be readable (messages);
        ``hint``: how to see the table otherwise, said when the layout turns vertical."""
        from rich.text import Text

        self.title = title
        self.hint = hint
        self.wanted = dict(min_widths or {})
        self.columns = list(columns)
        self.rows = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
        self.key_columns = key_columns
        self.layout = "table"  # what the last rendering chose (for tests and callers)

    def min_widths(self) -> list[int]:
        """The width each column needs: whole ids (up to ID_MIN_WIDTH), whole short words."""
        widths = []
        for index, name in enumerate(self.columns):
            cells = [row[index].plain for row in self.rows]
            if index < self.key_columns:
                need = min(max((len(c) for c in cells), default=0), ID_MIN_WIDTH)
            else:
                words = [len(w) for c in cells for w in c.split()]
                need = min(max(words, default=0), CELL_MIN_WIDTH)
                longest = max((len(c) for c in cells), default=0)
                need = max(need, min(self.wanted.get(name, 0), longest))
            widths.append(max(need, len(name)))
        return widths

    def fits(self, width: int) -> bool:
        """Whether the horizontal table fits ``width`` columns (borders and padding included)."""
        return self.column_widths(width) is not None

    def column_widths(self, width: int) -> list[int] | None:
        """Content widths of the columns in ``width`` terminal columns (the widest columns give
        way first, none below its minimum), or None when even the minimums do not fit."""
        available = width - 2 * (len(self.columns) - 1)  # two spaces between two columns
        minimums = self.min_widths()
        if sum(minimums) > available:
            return None
        widths = [
            max([len(name)] + [len(line) for row in self.rows for line in row[index].plain.splitlines() or [""]])
            for index, name in enumerate(self.columns)
        ]
        excess = sum(widths) - available
        while excess > 0:
            index = max(range(len(widths)), key=lambda i: (widths[i] - minimums[i] > 0, widths[i]))
            widths[index] -= 1
            excess -= 1
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        width = options.max_width
        widths = self.column_widths(width)
        if widths is not None or not self.rows:
            self.layout = "table"
            table = Table(
                title=self.title,
                title_justify="left",
                box=box.SIMPLE_HEAD,
                show_edge=False,
                pad_edge=False,
                collapse_padding=True,
                leading=1 if widths and self._wraps(widths) else 0,  # a blank line between rows that wrap
            )
            for index, name in enumerate(self.columns):
                table.add_column(name, overflow="fold", width=widths[index] if widths else None)
            for row in self.rows:
                table.add_row(*row)
            yield table
            return
        self.layout = "vertical"
        yield Text.assemble(
            (self.title, "italic"),
            f" (one block per row: the {len(self.columns)} columns do not fit in {width} columns"
            + (f"; {self.hint})" if self.hint else ")"),
        )
        yield from self._blocks()

    def _wraps(self, widths: Sequence[int]) -> bool:
        return any(len(cell.plain) > width for row in self.rows for cell, width in zip(row, widths, strict=True))

    def _blocks(self) -> Iterator[Text | Table]:
        from rich.table import Table
        from rich.text import Text

        for row in self.rows:
            block = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
            block.add_column("field", style="bold", no_wrap=True)
            block.add_column("value", overflow="fold")
            for name, cell in zip(self.columns, row, strict=True):
                block.add_row(name, cell)
            yield Text("")
            yield block


def pipelines_table(pipelines: Sequence[PipelineConfigView]) -> FitTable:
    """Pipelines, one row each."""
    pipelines = [shown(p) for p in pipelines]
    return FitTable(
        f"{len(pipelines)} pipeline(s)",
        ("pipeline_id", "name", "owner", "active", "schedule", "version"),
        ((p.pipeline_id, p.name, p.owner, _yes_no(p.is_active), p.schedule or "-", str(p.version)) for p in pipelines),
    )


def pipeline_detail(pipeline: PipelineConfigView, tz: tzinfo) -> Table:
    """Every field of one pipeline (secrets masked)."""
    pipeline = shown(pipeline)
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
        ("dag", pipeline.dag or None),
        ("tags", pipeline.tags),
        ("version", pipeline.version),
        ("created_at", when(pipeline.created_at, tz)),
        ("updated_at", when(pipeline.updated_at, tz)),
    ]
    return key_value_table(rows, title=f"pipeline {pipeline.pipeline_id}")


def tables_table(tables: Sequence[TableConfigView]) -> FitTable:
    """Table configs, one row each."""
    tables = [shown(t) for t in tables]
    return FitTable(
        f"{len(tables)} table(s)",
        ("table_id", "table", "role", "format", "load", "location", "active"),
        (
            (
                t.table_id,
                f"{t.database}.{t.table_name}" if t.database else t.table_name,
                t.role.value,
                t.format.value,
                t.load_type.value,
                t.location or "-",
                _yes_no(t.is_active),
            )
            for t in tables
        ),
    )


def runs_table(runs: Sequence[PipelineRunLogView], tz: tzinfo) -> FitTable:
    """Runs, newest first as given."""
    runs = [shown(r) for r in runs]
    return FitTable(
        f"{len(runs)} run(s)",
        ("run_id", "status", "try", "start", "end", "duration", "error"),
        (
            (
                r.run_id,
                status_text(r.status),
                str(r.try_number),
                when(r.start_time, tz),
                when(r.end_time, tz),
                duration_text(r.duration_seconds),
                r.error_type or "-",
            )
            for r in runs
        ),
    )


#: ``2h03m04s``, ``3m05s``, ``4.2s``; ``-`` for None (the core's one duration format, as the UI's)
duration_text = format_duration


def run_detail(run: PipelineRunLogView, tz: tzinfo) -> Table:
    """Every field of one run."""
    run = shown(run)
    rows: list[tuple[str, Any]] = [
        ("run_id", run.run_id),
        ("pipeline_id", run.pipeline_id),
        ("status", status_text(run.status)),
        ("try_number", run.try_number),
        ("start_time", when(run.start_time, tz)),
        ("end_time", when(run.end_time, tz)),
        ("heartbeat_at", when(run.heartbeat_at, tz)),
        ("duration", duration_text(run.duration_seconds)),
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
        ("arguments", run.arguments or None),  # as the Spark task rendered them, masked
        ("error_type", run.error_type),
        ("error_message", run.error_message),
    ]
    return key_value_table(rows, title=f"run {run.run_id}")


def attempts_table(run: PipelineRunLogView, tz: tzinfo) -> FitTable:
    """The run's previous attempts (its bounded history), oldest first."""
    run = shown(run)
    return FitTable(
        f"{len(run.attempts)} previous attempt(s)",
        ("try", "task", "status", "start", "end", "spark application", "error", "attempt_id"),
        (
            (
                str(a.try_number or "-"),
                a.task_id or "-",
                status_text(a.status),
                when(a.start_time, tz),
                when(a.end_time, tz),
                a.spark_application_id or "-",
                ": ".join(x for x in (a.error_type, a.error_message) if x) or "-",
                a.attempt_id or "-",
            )
            for a in run.attempts
        ),
        min_widths={"error": 20},
    )


def table_status_table(statuses: Mapping[str, str | None], created: Mapping[str, bool] | None = None) -> Table:
    """The registry tables and their status (``missing`` when they do not exist)."""
    from rich.table import Table
    from rich.text import Text

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


# -- watermarks ------------------------------------------------------------------------------------
def watermark_json(table: TableConfigView, state: Any, tz: tzinfo) -> dict[str, Any]:
    """What ``tables watermark --json`` says of the table and its committed watermark (``state``:
    the core's ``WatermarkState``), secrets masked; times ISO-8601 in ``tz``."""
    table = shown(table)
    at = state.at.astimezone(tz).isoformat() if state.at is not None else None
    return redact_mapping(
        {
            "table_id": table.table_id,
            "pipeline_id": table.pipeline_id,
            "load_type": table.load_type.value,
            "watermark_column": table.watermark_column,
            "watermark_type": str(state.watermark_type),
            "starting_value": table.watermark_value,
            "committed_value": state.value,
            "moves": state.seq,
            "moved_by_run_id": state.run_id,
            "rewound_by": state.rewound_by,
            "moved_at": at,
        }
    )


def watermark_detail(table: TableConfigView, state: Any, tz: tzinfo) -> Table:
    """A table's committed watermark: ``none`` before the first successful run."""
    data = watermark_json(table, state, tz)
    value = data["committed_value"]
    if data["moves"] == 0:
        value = f"{value or 'none'} (the starting value: no run committed yet)"
    moved_by = f"run {data['moved_by_run_id']}" if data["moved_by_run_id"] else None
    if data["rewound_by"]:
        moved_by = f"rewind by {data['rewound_by']}"
    rows: list[tuple[str, Any]] = [
        ("table_id", data["table_id"]),
        ("pipeline_id", data["pipeline_id"]),
        ("load_type", data["load_type"]),
        ("watermark_column", data["watermark_column"]),
        ("watermark_type", data["watermark_type"]),
        ("committed", value),
        ("moved_by", moved_by),
        ("moved_at", when(state.at, tz)),
    ]
    return key_value_table(rows, title=f"watermark of {data['table_id']}")


def watermark_history_table(entries: Sequence[Any], tz: tzinfo) -> FitTable:
    """Commits and rewinds of a watermark, as given (newest first)."""
    entries = [shown(e) for e in entries]
    return FitTable(
        f"{len(entries)} history entr{'y' if len(entries) == 1 else 'ies'}",
        ("when", "kind", "from", "to", "run / rewind", "reason"),
        (
            (
                when(e.at, tz),
                str(e.kind),
                _arrow_side(e.from_value),
                _arrow_side(e.to_value),
                e.run_id or _rewind_what(e),
                e.reason or "-",
            )
            for e in entries
        ),
        key_columns=0,
        min_widths={"reason": 20},
    )


def _rewind_what(entry: Any) -> str:
    """``by alice, to before run R`` / ``by alice, to a value`` for a rewind entry."""
    target = f"to {entry.position} run {entry.to_run_id}" if entry.to_run_id else "to a value"
    return f"by {entry.actor or '?'}, {target}"


def _arrow_side(value: str | None) -> str:
    return "none" if value is None else redact_text(value)


def rewind_text(verb: str, entry: Any) -> Text:
    """``moved the watermark of <table> from X to Y (to before run R)``."""
    from rich.text import Text

    entry = shown(entry)
    where = f" (to {entry.position} run {entry.to_run_id})" if entry.to_run_id else ""
    return Text(
        f"{verb} the watermark of {entry.table_id} from {_arrow_side(entry.from_value)} to "
        f"{_arrow_side(entry.to_value)}{where}"
    )


def history_json(entry: Any, tz: tzinfo) -> dict[str, Any]:
    """One history entry as JSON (``at`` ISO-8601 in ``tz``), secrets masked."""
    data = entry.model_dump(mode="json")
    data["at"] = entry.at.astimezone(tz).isoformat()
    return redact_mapping(data)
