"""``pipeline-registry tables``: create the three registry tables, show their status; delete a
table config."""

from __future__ import annotations

from typing import Annotated

import typer

from ...registry.tables import TABLE_WAIT_SECONDS
from ..context import get_state
from ..exit_codes import ExitCode
from ..render import echo_json, table_status_table
from .options import JsonOption, YesOption

tables_app = typer.Typer(
    help="Create the registry tables and show their status; delete a table config.", no_args_is_help=True
)


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


@tables_app.command("delete")
def delete(
    ctx: typer.Context,
    table_id: Annotated[str, typer.Argument(help="The table id (a table config, not a DynamoDB table).")],
    yes: YesOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete it even though the pipeline it belongs to exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete one table config (conditional on the version read: exit 4 if it changed meanwhile).

    A table whose pipeline still exists is part of that pipeline's config (its job reads or writes
    it): refused unless --force (exit 4); remove it from the pipeline's config file and prune, or
    delete the whole pipeline. A table whose pipeline is gone is deleted without --force. Asks for
    confirmation unless --yes. Exit 3 if it does not exist.
    """
    from ...registry.config_sync import Removal, delete_at
    from ...registry.errors import TableAttachedError
    from ..diffs import removal_json, removal_label
    from .pipelines import confirm_or_abort

    state = get_state(ctx)
    registry = state.registry
    table = registry.tables.get_by_id(table_id, consistent=True, tz=state.tz)
    attached = registry.pipelines.find_entity(table.pipeline_id, consistent=True) is not None
    if attached and not force:
        raise TableAttachedError(table_id, table.pipeline_id, operation="delete")
    target = Removal("table", table_id, table.version, table.pipeline_id)
    if not yes:
        confirm_or_abort(f"Delete {removal_label(target)}?")
    outcome = delete_at(registry, target)
    if as_json:
        echo_json({"deleted" if outcome == "deleted" else "already_gone": removal_json(target)})
    elif outcome == "deleted":
        state.out.print(f"deleted {removal_label(target)}", soft_wrap=True)
    else:
        state.out.print(f"already gone: table {table_id!r}", soft_wrap=True)
