"""An inline SVG chart of run durations over time, one dot per run coloured by status.

No JavaScript and no external resource: the SVG is part of the page. Runs still RUNNING have no
duration and are left out. The pipeline's usual duration (median to p90 of its recent successful
runs) is a band behind the dots; when one run would flatten the others (longer than
:data:`.service.CHART_CLIP_FACTOR` times the p90 of the runs shown), the axis ends at that bound
and such a run is drawn at the top edge as an arrow, its real duration in its label.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from html import escape

from ..registry.run_logs import PipelineRunLogView
from .service import Usual, chart_scale

#: Airflow's own state colours (its theme's ``<state>.solid``: success green.600, failed red.600,
#: running cyan.600, removed/none gray.600, up_for_retry yellow.600), the same in light and dark
STATUS_COLOURS = {
    "SUCCESS": "#16a34a",
    "FAILED": "#dc2626",
    "CANCELLED": "#52525b",
    "RUNNING": "#0891b2",
}
#: a previous attempt that a newer try replaced or took over (shown like Airflow's up_for_retry)
RETRIED_COLOUR = "#ca8a04"
ATTEMPT_COLOURS = {**STATUS_COLOURS, "SUPERSEDED": RETRIED_COLOUR, "LEASE_EXPIRED": RETRIED_COLOUR}

#: the usual band (median to p90 of the recent successful runs), translucent on both colour modes
BAND_COLOUR = "#3b82f6"
WIDTH, HEIGHT = 760, 220
MUTED = 'fill="currentColor" fill-opacity="0.75"'
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 40


def _seconds_label(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def retry_span_seconds(run: PipelineRunLogView) -> float | None:
    """Seconds from the first recorded try's start to this run's end (None while running or when
    the history has no start): what a retried run really took, the failed tries included."""
    first = next((a.start_time for a in run.attempts if a.start_time is not None), None)
    if first is None or run.end_time is None:
        return None
    return round((run.end_time.astimezone(UTC) - first.astimezone(UTC)).total_seconds(), 3)


def duration_chart_svg(runs: Sequence[PipelineRunLogView], usual: Usual | None = None) -> str:
    """The chart as an ``<svg>`` element (a short note when no run has ended).

    ``usual`` draws the usual band; the y scale is :func:`.service.chart_scale`'s (clipped at a
    bound when an outlier would flatten the chart)."""
    points = [r for r in runs if r.duration_seconds is not None]
    if not points:
        return '<p class="muted" id="duration-chart-empty">No finished run to chart.</p>'
    points.sort(key=lambda r: r.start_time.astimezone(UTC))
    times = [r.start_time.astimezone(UTC).timestamp() for r in points]
    durations = [float(r.duration_seconds or 0.0) for r in points]
    scale = chart_scale(points)
    clipped = scale["mode"] == "clipped"
    top = float(scale["max_seconds"] or 0.0) or max(durations) or 1.0
    if usual is not None and not clipped and top < usual.p90_seconds <= 1.5 * top:
        top = usual.p90_seconds  # the band fits when it is near the runs shown
    t0, t1 = min(times), max(times)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (plot_w / 2 if t1 == t0 else (t - t0) / (t1 - t0) * plot_w)

    def y(d: float) -> float:
        return TOP + plot_h - min(d, top) / top * plot_h

    parts = [
        f'<svg id="duration-chart" role="img" aria-label="Run durations over time" '
        f'data-scale="{scale["mode"]}" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:{WIDTH}px" '
        'xmlns="http://www.w3.org/2000/svg" font-family="inherit" font-size="11">',
    ]
    if usual is not None and usual.median_seconds < top:
        band_top, band_bottom = y(usual.p90_seconds), y(usual.median_seconds)
        band_label = (
            f"usual: median {_seconds_label(usual.median_seconds)}, p90 {_seconds_label(usual.p90_seconds)} "
            f"(last {usual.sample_size} successful runs)"
        )
        parts.append(
            f'<rect id="usual-band" x="{LEFT}" y="{band_top:.1f}" width="{plot_w}" '
            f'height="{max(band_bottom - band_top, 1.0):.1f}" fill="{BAND_COLOUR}" fill-opacity="0.18">'
            f"<title>{escape(band_label)}</title></rect>"
        )
        parts.append(
            f'<line class="usual-median" x1="{LEFT}" y1="{band_bottom:.1f}" x2="{LEFT + plot_w}" '
            f'y2="{band_bottom:.1f}" stroke="{BAND_COLOUR}" stroke-opacity="0.6" stroke-dasharray="4 3"/>'
        )
    parts += [
        f'<line class="x-axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>',
    ]
    if clipped:
        parts.append(
            f'<line class="clip-line" x1="{LEFT}" y1="{TOP}" x2="{LEFT + plot_w}" y2="{TOP}" stroke="#999" '
            'stroke-dasharray="2 3"/>'
        )
    for fraction in (0.0, 0.5, 1.0):
        value = top * fraction
        label = _seconds_label(value) + (" +" if clipped and fraction == 1.0 else "")
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" {MUTED}>{label}</text>')
    first, last = points[0].start_time, points[-1].start_time
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 12}" {MUTED}>{escape(first.strftime("%Y-%m-%d %H:%M"))}</text>')
    if len(points) > 1:
        parts.append(
            f'<text x="{LEFT + plot_w}" y="{HEIGHT - 12}" text-anchor="end" {MUTED}>'
            f"{escape(last.strftime('%Y-%m-%d %H:%M'))}</text>"
        )
    line = " ".join(f"{x(t):.1f},{y(d):.1f}" for t, d in zip(times, durations, strict=True))
    parts.append(f'<polyline points="{line}" fill="none" stroke="#a1a1aa" stroke-width="1"/>')
    outliers = set(scale["outlier_run_ids"])
    for run, t, d in zip(points, times, durations, strict=True):
        colour = STATUS_COLOURS.get(run.status.value, "#71717a")
        label = f"{run.run_id} · {run.status.value} · {_seconds_label(d)} · {run.start_time.isoformat()}"
        retried = ""
        if run.attempts:
            # a retried run: a ring in the retry colour, its tries and the time since the first one
            tries = ", ".join(a.status for a in run.attempts)
            label += f" · try {run.try_number} after {len(run.attempts)} ({tries})"
            span = retry_span_seconds(run)
            if span is not None:
                label += f" · {_seconds_label(span)} since the first try"
            retried = " retried"
            parts.append(
                f'<circle class="retry-ring" cx="{x(t):.1f}" cy="{y(d):.1f}" r="7" fill="none" '
                f'stroke="{RETRIED_COLOUR}" stroke-width="2"/>'
            )
        if run.run_id in outliers:
            # off the scale: an arrow at the top edge, its real duration in its label
            cx = x(t)
            label += f" · off the scale (axis clipped at {_seconds_label(top)})"
            parts.append(
                f'<g class="run-dot clipped status-{run.status.value}{retried}" data-seconds="{d:g}">'
                f'<path d="M{cx - 5:.1f},{TOP + 8} L{cx:.1f},{TOP - 2} L{cx + 5:.1f},{TOP + 8} Z" fill="{colour}"/>'
                f'<text x="{cx + 7:.1f}" y="{TOP + 4}" {MUTED}>{_seconds_label(d)}</text>'
                f"<title>{escape(label)}</title></g>"
            )
            continue
        parts.append(
            f'<circle class="run-dot status-{run.status.value}{retried}" cx="{x(t):.1f}" cy="{y(d):.1f}" r="4" '
            f'fill="{colour}" data-seconds="{d:g}"><title>{escape(label)}</title></circle>'
        )
    legend_x = LEFT + 8
    for status, colour in STATUS_COLOURS.items():
        if status == "RUNNING":
            continue
        parts.append(f'<circle cx="{legend_x}" cy="10" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 8}" y="14" fill="currentColor">{status}</text>')
        legend_x += 90
    if any(r.attempts for r in points):
        parts.append(f'<circle cx="{legend_x}" cy="10" r="6" fill="none" stroke="{RETRIED_COLOUR}" stroke-width="2"/>')
        parts.append(f'<text x="{legend_x + 10}" y="14" fill="currentColor">RETRIED</text>')
        legend_x += 84
    if usual is not None:
        parts.append(f'<rect x="{legend_x - 5}" y="5" width="14" height="10" fill="{BAND_COLOUR}" fill-opacity="0.3"/>')
        parts.append(f'<text x="{legend_x + 13}" y="14" fill="currentColor">usual (median-p90)</text>')
        legend_x += 130
    if clipped:
        parts.append(f'<path d="M{legend_x - 5},15 L{legend_x},5 L{legend_x + 5},15 Z" fill="currentColor"/>')
        parts.append(f'<text x="{legend_x + 9}" y="14" fill="currentColor">off the scale</text>')
    parts.append("</svg>")
    return "".join(parts)
