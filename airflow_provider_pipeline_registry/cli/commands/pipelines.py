"""``pipeline-registry pipelines``: list pipelines, show one with its tables, delete one."""

from __future__ import annotations

from typing import Annotated

import typer

from ..context import get_state
from ..exit_codes import ExitCode
from ..groups import GROUPS
from ..render import echo_json, pipeline_detail, pipelines_table, tables_table, to_jsonable
from .options import JsonOption, YesOption

pipelines_app = typer.Typer(help=GROUPS["pipelines"].help, no_args_is_help=True)


@pipelines_app.command("list")
def list_pipelines(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include inactive pipelines (a table scan).")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the active pipelines (``--all``: every pipeline), by pipeline id."""
    state = get_state(ctx)
    read = state.registry.pipelines
    found = read.iter_all(tz=state.tz) if all_ else read.iter_active(tz=state.tz)
    pipelines = sorted(found, key=lambda p: p.pipeline_id)
    if as_json:
        echo_json([to_jsonable(p) for p in pipelines])
    else:
        state.out.print(pipelines_table(pipelines))


@pipelines_app.command("show")
def show(
    ctx: typer.Context,
    pipeline_id: Annotated[str, typer.Argument(help="The pipeline id.", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Show one pipeline and its tables (exit 3 if it does not exist)."""
    state = get_state(ctx)
    pipeline = state.registry.pipelines.get_by_id(pipeline_id, consistent=True, tz=state.tz)
    tables = list(state.registry.tables.iter_by_pipeline(pipeline_id, tz=state.tz))
    if as_json:
        echo_json({**to_jsonable(pipeline), "tables": [to_jsonable(t) for t in tables]})
        return
    state.out.print(pipeline_detail(pipeline, state.tz))
    state.out.print()
    state.out.print(tables_table(tables))


@pipelines_app.command("delete")
def delete(
    ctx: typer.Context,
    pipeline_id: Annotated[str, typer.Argument(help="The pipeline id.", show_default=False)],
    yes: YesOption = False,
    force: Annotated[bool, typer.Option("--force", help="Delete it even if it has a RUNNING run.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a pipeline config and its table configs (its run logs are kept).

    Asks for confirmation unless --yes. Refuses a pipeline with a RUNNING run unless --force
    (exit 4). Each delete is conditional on the version read: an item edited meanwhile is not
    deleted (exit 4; a pipeline that was not deleted keeps its tables). Exit 3 if it does not exist.
    """
    from ...registry.config_sync import ConfigDiff, KindDiff, PruneScope, Removal, check_not_running, remove
    from ...registry.config_sync import running_runs as find_running
    from ..diffs import removal_label, report_json, report_lines

    state = get_state(ctx)
    registry = state.registry
    pipeline = registry.pipelines.get_by_id(pipeline_id, consistent=True, tz=state.tz)
    tables = list(registry.tables.iter_by_pipeline(pipeline_id, tz=state.tz))
    running = tuple(find_running(registry, [pipeline_id]).get(pipeline_id, ()))
    target = Removal("pipeline", pipeline_id, pipeline.version, pipeline_id, running)
    diff = ConfigDiff(
        pipelines=KindDiff(removed=[target]),
        tables=KindDiff(removed=[Removal("table", t.table_id, t.version, pipeline_id) for t in tables]),
        scope=PruneScope(),
    )
    check_not_running(diff, force=force)
    if not yes:
        listed = f": {', '.join(t.table_id for t in tables)}" if tables else ""
        confirm_or_abort(f"Delete {removal_label(target)} and its {len(tables)} table(s){listed}?")
    report = remove(registry, diff, force=force)
    if as_json:
        echo_json(report_json(report))
    else:
        for line in report_lines(report):
            state.out.print(line, soft_wrap=True)
    if report.conflicts:
        raise typer.Exit(ExitCode.CONFLICT)


def confirm_or_abort(question: str) -> None:
    """Ask on stderr; anything but yes (or no terminal answer) ends with exit 1, nothing deleted."""
    if not typer.confirm(question, default=False, err=True):
        typer.echo("nothing deleted", err=True)
        raise typer.Exit(ExitCode.ERROR)
