"""``pipeline-registry tables``: create the three registry tables, show their status."""

from __future__ import annotations

from typing import Annotated

import typer

from ...registry.tables import TABLE_WAIT_SECONDS
from ..context import get_state
from ..exit_codes import ExitCode
from ..render import echo_json, table_status_table
from .options import JsonOption

tables_app = typer.Typer(help="Create the registry tables and show their status.", no_args_is_help=True)


@tables_app.command("create")
def create(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the tables to become ACTIVE.")
    ] = TABLE_WAIT_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Create the three tables (with their indexes) if missing and wait until they are ACTIVE."""
    state = get_state(ctx)
    created = state.registry.create_tables(timeout=timeout)
    statuses = state.registry.tables_status()
    if as_json:
        echo_json({name: {"status": statuses.get(name), "created": created.get(name, False)} for name in statuses})
        return
    state.out.print(table_status_table(statuses, created))


@tables_app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show whether the three tables exist and are ACTIVE (exit 3 if any is missing)."""
    state = get_state(ctx)
    statuses = state.registry.tables_status()
    if as_json:
        echo_json(statuses)
    else:
        state.out.print(table_status_table(statuses))
    if any(s is None for s in statuses.values()):
        if not as_json:
            state.err.print("some tables are missing: run `pipeline-registry tables create`", soft_wrap=True)
        raise typer.Exit(ExitCode.NOT_FOUND)
