"""``pipeline-registry runs``: list the runs of a pipeline, show one, watch one until it ends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ...registry.errors import RegistryValidationError
from ...registry.time_inputs import time_input
from ...registry.timezones import utc_now
from ..context import CliState, get_state
from ..exit_codes import ExitCode
from ..groups import GROUPS
from ..render import attempts_table, echo_json, run_detail, runs_table, to_jsonable
from .options import JsonOption, PipelineOption

if TYPE_CHECKING:
    from ...registry.run_logs.models import PipelineRunLogView


class StatusChoice(StrEnum):
    """The run statuses ``--status`` accepts (the values of ``RunStatus``; not imported here, so
    that ``--help`` stays fast)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


runs_app = typer.Typer(help=GROUPS["runs"].help, no_args_is_help=True)

#: the sleep between two polls of ``runs watch`` (a module attribute so tests can observe polls)
_sleep = time.sleep


# -- page tokens -------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(value: datetime | None) -> str:
    return str((value - _EPOCH) // _MICROSECOND) if value is not None else ""


def _from_micros(text: str) -> datetime | None:
    return _EPOCH + int(text) * _MICROSECOND if text else None


def encode_cli_token(token: str, since: datetime | None, until: datetime | None) -> str:
    """``<registry token>.<since>.<until>`` (epoch microseconds): the resolved time window travels
    with the token, so that ``--since 2h`` means the same instant on every page."""
    return f"{token}.{_micros(since)}.{_micros(until)}"


def decode_cli_token(token: str) -> tuple[str, datetime | None, datetime | None]:
    """Inverse of :func:`encode_cli_token`; a malformed token is a RegistryValidationError."""
    try:
        inner, since, until = token.strip().split(".")
        if not inner:
            raise ValueError("empty token")
        return (
            inner,
            _from_micros(since),
            _from_micros(until),
        )
    except (ValueError, OverflowError, OSError):
        raise RegistryValidationError(
            "page token is malformed (pass back the token a previous `runs list` printed)", field="page_token"
        ) from None


# -- commands ----------------------------------------------------------------------------------
@runs_app.command("list")
def list_runs(
    ctx: typer.Context,
    pipeline: PipelineOption,
    since: Annotated[
        str | None,
        typer.Option(help="Runs started at or after: ISO datetime (naive = in --tz) or an age like 2h, 3d."),
    ] = None,
    until: Annotated[str | None, typer.Option(help="Runs started at or before (same forms as --since).")] = None,
    status: Annotated[
        list[StatusChoice] | None,
        typer.Option("--status", "-s", case_sensitive=False, help="Only runs in this status (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Runs per page.")] = 20,
    page_token: Annotated[
        str | None, typer.Option(help="Continue a previous listing (it keeps that listing's time window).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the runs of a pipeline, newest first, one page at a time."""
    from rich.text import Text

    state = get_state(ctx)
    inner_token: str | None = None
    if page_token:
        inner_token, since_at, until_at = decode_cli_token(page_token)
    else:
        now = utc_now()
        since_at = time_input(since, field="since", tz=state.tz, now=now)
        until_at = time_input(until, field="until", tz=state.tz, now=now)
    from ...registry.run_logs.models import RunStatus

    page = state.registry.runs.list_by_pipeline(
        pipeline,
        since=since_at,
        until=until_at,
        statuses=[RunStatus(s.value) for s in status] if status else None,
        limit=limit,
        page_token=inner_token,
        tz=state.tz,
    )
    if not page.items and inner_token is None:
        from ...registry.pipeline_ids import require_known_pipeline

        require_known_pipeline(state.registry, pipeline)  # no config, no runs: a typo (exit 3, closest ids)
    next_token = encode_cli_token(page.next_page_token, since_at, until_at) if page.next_page_token else None
    if as_json:
        echo_json({"runs": [to_jsonable(r) for r in page.items], "next_page_token": next_token})
        return
    state.out.print(runs_table(page.items, state.tz))
    if next_token:
        state.out.print(Text(f"next page: --page-token {next_token}"), soft_wrap=True)


def _get_run(state: CliState, run_id: str, pipeline: str) -> PipelineRunLogView:
    return state.registry.runs.get_by_id(run_id, pipeline, consistent=True, tz=state.tz)


@runs_app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id.", show_default=False)],
    pipeline: PipelineOption,
    as_json: JsonOption = False,
) -> None:
    """Show one run (a strongly consistent read; exit 3 if it does not exist)."""
    state = get_state(ctx)
    run = _get_run(state, run_id, pipeline)
    if as_json:
        echo_json(to_jsonable(run))
    else:
        state.out.print(run_detail(run, state.tz))
        if run.attempts:
            state.out.print(attempts_table(run, state.tz))


@runs_app.command("watch")
def watch(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id.", show_default=False)],
    pipeline: PipelineOption,
    interval: Annotated[float, typer.Option(min=0.01, help="Seconds between two reads.")] = 5.0,
    timeout: Annotated[
        float | None,
        typer.Option(min=0.0, help="Give up after this many seconds (exit 9); default: never.", show_default=False),
    ] = None,
    allow_unknown: Annotated[
        bool,
        typer.Option(
            "--allow-unknown",
            help="Wait even when the pipeline is not in the registry yet (no config, no runs); "
            "without it, an unknown pipeline id is an error at once (exit 3).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Follow a run until it ends: exit 0 on SUCCESS, 8 on FAILED/CANCELLED, 9 on --timeout.

    A run that has not started yet is waited for, if its pipeline is in the registry (else exit 3
    with the closest pipeline ids, unless --allow-unknown); heartbeats and metrics are shown as they
    arrive; a DynamoDB outage is ridden through (and shown) until --timeout.
    """
    from rich.text import Text

    from ..watch import RunWatcher

    state = get_state(ctx)
    watcher = RunWatcher(
        state,
        run_id,
        pipeline,
        interval=interval,
        timeout=timeout,
        as_json=as_json,
        sleep=_sleep,
        allow_unknown_pipeline=allow_unknown,
    )
    run = watcher.run()
    if as_json:
        echo_json(to_jsonable(run))
    else:
        state.out.print(run_detail(run, state.tz))
        if run.attempts:
            state.out.print(attempts_table(run, state.tz))
    if run.status.value != "SUCCESS":
        if not as_json:
            error = ": ".join(p for p in (run.error_type, run.error_message) if p) or "no error recorded"
            state.err.print(
                Text.assemble(("error: ", "bold red"), f"run {run.run_id} ended {run.status.value}: {error}"),
                soft_wrap=True,
            )
        raise typer.Exit(ExitCode.RUN_NOT_SUCCESSFUL)
