"""``pipeline-registry pipelines``: list pipelines, show one with its tables."""

from __future__ import annotations

from typing import Annotated

import typer

from ..context import get_state
from ..render import echo_json, pipeline_detail, pipelines_table, tables_table, to_jsonable
from .options import JsonOption

pipelines_app = typer.Typer(help="Look at pipeline configs.", no_args_is_help=True)


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
