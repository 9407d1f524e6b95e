"""Server-rendered pages of the registry (Jinja2, autoescaped; no build step, no external resource).

All links are relative: the pages live side by side under ``<prefix>/ui/`` (``./``, ``pipeline``,
``run``), Airflow's own pages are ``../../dags/...``. Times are rendered in the registry's display
timezone with the UTC time on hover; a small script re-renders them in the timezone the user picked
in Airflow's UI (Airflow keeps it in the browser's ``localStorage['timezone']``) when there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..registry.run_env import derive_run_id
from ..registry.run_logs import PipelineRunLogView
from ..registry.text_limits import truncate_text
from ..registry.timezones import format_duration, format_utc
from .chart import ATTEMPT_COLOURS, retry_span_seconds
from .service import formatted_metrics, run_stale


def _time(value: datetime | None) -> Markup:
    if value is None:
        return Markup('<span class="muted">-</span>')
    shown = value.strftime("%Y-%m-%d %H:%M:%S %Z")
    utc = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{0}" data-utc="{0}" title="{1}">{2}</time>').format(format_utc(value), utc, shown)


def _status(value: Any) -> Markup:
    name = getattr(value, "value", value)
    colour = ATTEMPT_COLOURS.get(str(name), "#71717a")
    return Markup('<span class="status status-{0}" style="background:{1}">{0}</span>').format(name, colour)


@dataclass(frozen=True)
class AttemptRow:
    """One try of a run as the attempt history shows it (previous ones from ``attempts``, then the
    run's current try)."""

    try_number: int | None
    status: str
    start_time: datetime | None
    end_time: datetime | None
    error_type: str | None
    error_message: str | None
    spark_application_id: str | None
    current: bool

    @property
    def duration_seconds(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return round((self.end_time.astimezone(UTC) - self.start_time.astimezone(UTC)).total_seconds(), 3)


def _attempt_rows(run: PipelineRunLogView) -> list[AttemptRow]:
    rows = [
        AttemptRow(
            a.try_number,
            a.status,
            a.start_time,
            a.end_time,
            a.error_type,
            a.error_message,
            a.spark_application_id,
            current=False,
        )
        for a in run.attempts
    ]
    rows.append(
        AttemptRow(
            run.try_number,
            run.status.value,
            run.start_time,
            run.end_time,
            run.error_type,
            run.error_message,
            run.spark_application_id,
            current=True,
        )
    )
    return rows


def _spark_ui(url: str | None, label: str | None = None) -> Markup:
    """The Spark UI link as it works inside Airflow's sandboxed iframe (no popup there): a link the
    page's script turns into a same-tab navigation of Airflow's window, and a "Copy" button."""
    safe = _safe_url(url)
    if safe is None:
        return Markup("{0}").format(label or "-")
    return Markup(
        '<span class="spark-ui"><a class="spark-link" data-spark href="{0}" rel="noopener noreferrer" '
        'title="Open the Spark UI in this tab">{1}</a> <button type="button" class="copy" data-copy="{0}" '
        'title="Copy the Spark UI URL">Copy URL</button></span>'
    ).format(safe, label or safe)


def no_run_message(dag_id: str, dag_run_id: str) -> str:
    """What the dag run / task instance tab says when the registry has no run of that dag run."""
    return (
        f"The registry has no run of dag {dag_id!r}, dag run {dag_run_id!r} (its run id would be "
        f"{derive_run_id(dag_id, dag_run_id)!r}); a run given another id is on its pipeline's page."
    )


def _query(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(clean, doseq=True)}" if clean else path


def _pipeline_url(pipeline_id: str) -> str:
    return _query("pipeline", pipeline_id=pipeline_id)


def _table_url(table_id: str) -> str:
    return _query("table", table_id=table_id)


def _run_url(run: PipelineRunLogView) -> str:
    return _query("run", pipeline_id=run.pipeline_id, run_id=run.run_id)


#: what a browser reads as a dot segment (``.``/``..``, also percent-encoded): such a segment would
#: move the link up a level (a stored dag id ``..`` must not link to Airflow's home), so none is linked
_DOT_SEGMENTS = {".", "..", "%2e", "%2e%2e", ".%2e", "%2e."}


def path_segment(value: str) -> str | None:
    """``value`` as one URL path segment (every reserved character quoted, ``/`` too), or None when
    no link can carry it as one segment (empty, or a dot segment a browser would resolve)."""
    if not value or value.strip().lower() in _DOT_SEGMENTS:
        return None
    return quote(value, safe="")


def _dag_run_url(run: PipelineRunLogView) -> str | None:
    dag = path_segment(run.dag_id or "")
    dag_run = path_segment(run.dag_run_id or "")
    if dag is None or dag_run is None:
        return None
    return f"../../dags/{dag}/runs/{dag_run}"


def _task_url(run: PipelineRunLogView) -> str | None:
    base = _dag_run_url(run)
    task = path_segment(run.task_id or "")
    if base is None or task is None:
        return None
    url = f"{base}/tasks/{task}"
    if run.map_index is not None and run.map_index >= 0:
        url += f"/mapped/{run.map_index}"
    return url


def _metrics(metrics: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in formatted_metrics(metrics).items()) if metrics else "-"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links are rendered as links (never ``javascript:``)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


#: an error in a table cell: one line, head and tail (the exception's name is at the end), the
#: package's one truncation with a cell-sized limit (the run's page shows the whole stored error)
ERROR_SUMMARY_BYTES = 160


def _error_summary(text: str | None) -> str:
    return truncate_text(text, ERROR_SUMMARY_BYTES, one_line=True) if text else ""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader(__package__ or "airflow_provider_pipeline_registry.plugins", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.globals.update(
        time=_time,
        duration=format_duration,
        status=_status,
        metrics=_metrics,
        pretty=_pretty,
        safe_url=_safe_url,
        error_summary=_error_summary,
        pipeline_url=_pipeline_url,
        run_url=_run_url,
        table_url=_table_url,
        run_id_url=lambda pipeline_id, run_id: _query("run", pipeline_id=pipeline_id, run_id=run_id),
        dag_run_url=_dag_run_url,
        task_url=_task_url,
        run_stale=run_stale,
        attempt_rows=_attempt_rows,
        retry_span=retry_span_seconds,
        spark_ui=_spark_ui,
    )
    return env


ENV = _environment()


def render(template: str, **context: Any) -> str:
    """Render one of the page templates."""
    context.setdefault("display_timezone", "UTC")
    return ENV.get_template(template).render(**context)


query_url = _query

__all__ = ["AttemptRow", "Markup", "no_run_message", "path_segment", "query_url", "render"]
