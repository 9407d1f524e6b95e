"""Server-rendered pages of the registry (Jinja2, autoescaped; no build step, no external resource).

All links are relative: the pages live side by side under ``<prefix>/ui/`` (``./``, ``pipeline``,
``run``), Airflow's own pages are ``../../dags/...``. Times are rendered in the registry's display
timezone with the UTC time on hover; a small script re-renders them in the timezone the user picked
in Airflow's UI (Airflow keeps it in the browser's ``localStorage['timezone']``) when there is one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..registry.run_logs import PipelineRunLogView
from ..registry.text_limits import truncate_text
from ..registry.timezones import format_duration, format_utc
from .chart import STATUS_COLOURS
from .service import formatted_metrics, run_stale


def _time(value: datetime | None) -> Markup:
    if value is None:
        return Markup('<span class="muted">-</span>')
    shown = value.strftime("%Y-%m-%d %H:%M:%S %Z")
    utc = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{0}" data-utc="{0}" title="{1}">{2}</time>').format(format_utc(value), utc, shown)


def _status(value: Any) -> Markup:
    name = getattr(value, "value", value)
    colour = STATUS_COLOURS.get(str(name), "#555")
    return Markup('<span class="status status-{0}" style="background:{1}">{0}</span>').format(name, colour)


def _query(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", [])}
    return f"{path}?{urlencode(clean, doseq=True)}" if clean else path


def _pipeline_url(pipeline_id: str) -> str:
    return _query("pipeline", pipeline_id=pipeline_id)


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
        dag_run_url=_dag_run_url,
        task_url=_task_url,
        run_stale=run_stale,
    )
    return env


ENV = _environment()


def render(template: str, **context: Any) -> str:
    """Render one of the page templates."""
    context.setdefault("display_timezone", "UTC")
    return ENV.get_template(template).render(**context)


query_url = _query

__all__ = ["Markup", "path_segment", "query_url", "render"]
