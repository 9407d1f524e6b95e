"""``runs watch``: follow one run until it ends, in a form a person can watch.

* On a terminal, one live line (rich ``Live``) shows the status, the heartbeat's age and the
  metrics, refreshed several times a second; events (status changes, an outage, its end) are
  printed above it and stay.
* Elsewhere (a pipe, a CI log, ``--json``), each change is one line on stderr.
* A run that does not exist yet is waited for, if its pipeline is in the registry: an unknown
  pipeline id (no config, no runs) is an error at once, naming the closest ids, unless
  ``--allow-unknown``; a DynamoDB outage (a connection error or throttling that outlived the
  registry's retries) is shown and ridden through, both until ``--timeout``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from ..registry.errors import ItemNotFoundError, RetryableError
from ..registry.pipeline_ids import require_known_pipeline
from ..registry.timezones import utc_now
from .context import CliState
from .exit_codes import ExitCode
from .render import duration_text, echo_json, status_text, to_jsonable, when

if TYPE_CHECKING:
    from ..registry.run_logs.models import PipelineRunLogView

Sleep = Callable[[float], None]


def _age(value: datetime | None) -> str:
    if value is None:
        return "-"
    return duration_text(max((utc_now() - value).total_seconds(), 0.0)) + " ago"


def _metrics(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, sort_keys=True, ensure_ascii=False, default=str) if metrics else "none yet"


class _Screen:
    """Where the watcher reports: a live line on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, *, live: bool, render: Callable[[], RenderableType]) -> None:
        self.console = console
        self._live = (
            Live(console=console, refresh_per_second=4, transient=True, get_renderable=render) if live else None
        )
        self._render = render

    def __enter__(self) -> _Screen:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()

    @property
    def live(self) -> bool:
        return self._live is not None

    def event(self, text: Text) -> None:
        """A line that stays (above the live line on a terminal)."""
        self.console.print(text, soft_wrap=True)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()


class RunWatcher:
    """Polls one run (strongly consistent reads) until it ends or ``timeout`` expires."""

    def __init__(
        self,
        state: CliState,
        run_id: str,
        pipeline: str,
        *,
        interval: float,
        timeout: float | None,
        as_json: bool,
        sleep: Sleep = time.sleep,
        allow_unknown_pipeline: bool = False,
    ) -> None:
        self.state = state
        self.allow_unknown_pipeline = allow_unknown_pipeline
        #: the pipeline is known to be in the registry (checked once, when the run is first missing)
        self._pipeline_known = allow_unknown_pipeline
        self.run_id = run_id
        self.pipeline = pipeline
        self.interval = interval
        self.timeout = timeout
        self.sleep = sleep
        self.as_json = as_json
        self.run_view: PipelineRunLogView | None = None
        self.checked_at: datetime | None = None
        self.outage_since: datetime | None = None
        self.outage_reason = ""
        self._seen: tuple[Any, ...] | None = None
        self._screen = _Screen(state.err, live=state.err.is_terminal and not as_json, render=self._line)

    # -- what is shown ---------------------------------------------------------------------------
    def _stamp(self) -> str:
        return when(utc_now(), self.state.tz)

    def _line(self) -> Text:
        """The live lines: everything known now, ages computed at each refresh."""
        run = self.run_view
        if run is None:
            line = Text(f"waiting for run {self.run_id} of pipeline {self.pipeline} to start", style="dim")
        else:
            line = Text.assemble(
                status_text(run.status),
                f"  try {run.try_number}  started {_age(run.start_time)}  heartbeat {_age(run.heartbeat_at)}",
            )
        if self.checked_at is not None:
            line.append(f"  (read {_age(self.checked_at)})", style="dim")
        if run is not None:
            line.append(f"\nmetrics {_metrics(run.metrics)}")
        if self.outage_since is not None:
            line.append(
                f"\nDynamoDB unreachable for {_age(self.outage_since)[:-4]}: retrying ({self.outage_reason})",
                style="bold yellow",
            )
        return line

    def _report_changes(self, run: PipelineRunLogView) -> None:
        key = (run.status, run.try_number)
        if self._seen is None or key != self._seen[:2]:
            self._screen.event(
                Text.assemble(
                    f"{self._stamp()}  run {run.run_id}: ",
                    status_text(run.status),
                    f" (try {run.try_number}, started {when(run.start_time, self.state.tz)})",
                )
            )
        elif not self._screen.live and (run.heartbeat_at, run.metrics) != self._seen[2:]:
            self._screen.event(
                Text(
                    f"{self._stamp()}  heartbeat {when(run.heartbeat_at, self.state.tz)}"
                    f"  metrics {_metrics(run.metrics)}"
                )
            )
        self._seen = (run.status, run.try_number, run.heartbeat_at, dict(run.metrics))

    # -- the loop --------------------------------------------------------------------------------
    def _read(self) -> PipelineRunLogView | None:
        """The run, or None while it does not exist; the outage state is kept up to date.

        While the run does not exist, its pipeline must be in the registry (checked once):
        UnknownPipelineError otherwise, unless ``allow_unknown_pipeline``.
        """
        try:
            run = self._get_run()
            if run is None and not self._pipeline_known:
                require_known_pipeline(self.state.registry, self.pipeline)
                self._pipeline_known = True
        except RetryableError as exc:
            if self.outage_since is None:
                self.outage_since = utc_now()
                self._screen.event(
                    Text(
                        f"{self._stamp()}  DynamoDB unreachable: {exc.message}; retrying every "
                        f"{self.interval:g}s" + (f" until the {self.timeout:g}s timeout" if self.timeout else ""),
                        style="yellow",
                    )
                )
            self.outage_reason = type(exc).__name__
            raise
        if self.outage_since is not None:
            down = duration_text((utc_now() - self.outage_since).total_seconds())
            self._screen.event(Text(f"{self._stamp()}  DynamoDB reachable again (after {down})", style="green"))
            self.outage_since = None
        self.checked_at = utc_now()
        return run

    def _get_run(self) -> PipelineRunLogView | None:
        try:
            return self.state.registry.runs.get_by_id(self.run_id, self.pipeline, consistent=True, tz=self.state.tz)
        except ItemNotFoundError:
            return None

    def run(self) -> PipelineRunLogView:
        """Watch until the run ends (returned); exit 9 on timeout, 6 when DynamoDB is still down then."""
        deadline = time.monotonic() + self.timeout if self.timeout is not None else None
        waiting_said = False
        with self._screen:
            while True:
                error: RetryableError | None = None
                try:
                    run = self._read()
                except RetryableError as exc:
                    run, error = self.run_view, exc
                else:
                    if run is None and not waiting_said and self.run_view is None:
                        waiting_said = True
                        self._screen.event(
                            Text(
                                f"{self._stamp()}  run {self.run_id} of pipeline {self.pipeline} has not started:"
                                " waiting for it" + (f" (up to {self.timeout:g}s)" if self.timeout else ""),
                                style="dim",
                            )
                        )
                    if run is not None:
                        self.run_view = run
                        self._report_changes(run)
                        if run.status.is_terminal:
                            return run
                self._screen.refresh()
                remaining = deadline - time.monotonic() if deadline is not None else None
                if remaining is not None and remaining <= 0:
                    self._give_up(error)
                self.sleep(self.interval if remaining is None else min(self.interval, remaining))

    def _give_up(self, error: RetryableError | None) -> None:
        if error is not None:
            raise error  # still down at the deadline: the connection error, exit 6
        run = self.run_view
        if run is None:
            message = (
                f"run {self.run_id} of pipeline {self.pipeline} has not started after {self.timeout:g}s;"
                f" stopped watching (check the id: `pipeline-registry runs list -p {self.pipeline}`)"
            )
        else:
            message = f"run {self.run_id} is still {run.status.value} after {self.timeout:g}s; stopped watching"
            if self.as_json:
                echo_json(to_jsonable(run))
        self._screen.event(Text(message))
        raise typer.Exit(ExitCode.WATCH_TIMEOUT)
