"""``pipeline-registry tables``: create the registry tables, show their status, migrate their
index projections; delete a table config; show and rewind a table's committed watermark."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ...registry.tables import TABLE_WAIT_SECONDS
from ..context import get_state
from ..exit_codes import ExitCode
from ..groups import GROUPS
from ..render import (
    echo_json,
    history_json,
    rewind_text,
    table_status_table,
    watermark_detail,
    watermark_history_table,
    watermark_json,
)
from .options import JsonOption, YesOption

tables_app = typer.Typer(
    help=GROUPS["tables"].help,
    no_args_is_help=True,
)


@tables_app.command("create")
def create(
    ctx: typer.Context,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the tables to become ACTIVE.")
    ] = TABLE_WAIT_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Create the registry tables (with their indexes) if missing and wait until they are ACTIVE."""
    state = get_state(ctx)
    created = state.registry.create_tables(timeout=timeout)
    statuses = state.registry.tables_status()
    if as_json:
        echo_json({name: {"status": statuses.get(name), "created": created.get(name, False)} for name in statuses})
        return
    state.out.print(table_status_table(statuses, created))


@tables_app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show whether the registry tables exist and are ACTIVE (exit 3 if any is missing)."""
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


@tables_app.command("migrate-indexes")
def migrate_indexes(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the indexes that differ; change nothing.")] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each index to be deleted, then backfilled and ACTIVE.")
    ] = TABLE_WAIT_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Give the existing tables' indexes the projections this version declares.

    A table created by an earlier version projects ALL into the run indexes: it keeps working, but
    every heartbeat and claim also rewrites both index entries (3 WCU instead of 1, docs/cost.md).
    Each index that differs is deleted and created again (backfilled from the table: about 1 WCU a
    run); while it is rebuilt, run lists fail. Idempotent; --dry-run only lists them.
    """
    state = get_state(ctx)
    plan = state.registry.migrate_indexes(dry_run=dry_run, timeout=timeout)
    if as_json:
        echo_json({"dry_run": dry_run, "indexes": [m.as_json() for m in plan]})
        return
    if not plan:
        state.out.print("every index has the declared projection: nothing to migrate", soft_wrap=True)
        return
    for m in plan:
        done = f"would {m.action}" if dry_run else f"{m.action}d"
        state.out.print(f"{done} {m.table}.{m.index}: {m.current} -> {m.declared}", soft_wrap=True)


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


# -- watermarks (the committed low bound of an incremental table, and its history) ------------------
TableIdArgument = Annotated[str, typer.Argument(help="The table id (table_config).", show_default=False)]


@tables_app.command("watermark")
def watermark(
    ctx: typer.Context,
    table_id: TableIdArgument,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many history entries, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show a table's committed watermark and its history: every commit and rewind (exit 3 if the
    table does not exist)."""
    state = get_state(ctx)
    tables = state.registry.tables
    table = tables.get_by_id(table_id, consistent=True, tz=state.tz)
    committed = tables.watermark(table_id)
    history = tables.watermark_history(table_id, limit=limit, newest_first=True)
    if as_json:
        echo_json(
            {**watermark_json(table, committed, state.tz), "history": [history_json(e, state.tz) for e in history]}
        )
        return
    state.out.print(watermark_detail(table, committed, state.tz))
    state.out.print()
    state.out.print(watermark_history_table(history, state.tz))


class RewindSide(StrEnum):
    BEFORE = "before"
    AFTER = "after"


@tables_app.command("rewind")
def rewind(
    ctx: typer.Context,
    table_id: TableIdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).", show_default=False)],
    to_run: Annotated[
        str | None,
        typer.Option(
            "--to-run", help="Move the watermark back to a run's bounds (see --before/--after).", show_default=False
        ),
    ] = None,
    after: Annotated[
        bool,
        typer.Option(
            "--after/--before",
            help="With --to-run: to the high bound the run committed (--after), or to the low bound it read "
            "(--before, the default: the next run reprocesses what that run read).",
        ),
    ] = False,
    value: Annotated[
        str | None, typer.Option("--value", help="Move the watermark to this value.", show_default=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change; write nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Move a table's committed watermark back: to before or after a run (--to-run), or to a value
    (--value). Recorded in the history with who and why; a run in flight that read the old value
    then fails to commit."""
    if (to_run is None) == (value is None):
        raise typer.BadParameter("give exactly one of --to-run RUN_ID or --value V", param_hint="--to-run / --value")
    if not reason.strip():
        raise typer.BadParameter("must not be empty", param_hint="--reason")
    if after and to_run is None:
        raise typer.BadParameter("--after needs --to-run", param_hint="--after")
    side = RewindSide.AFTER if after else RewindSide.BEFORE
    state = get_state(ctx)
    entry = state.registry.tables_write.rewind_watermark(
        table_id, to_run_id=to_run, value=value, position=side.value, reason=reason, dry_run=dry_run
    )
    if as_json:
        echo_json({**history_json(entry, state.tz), "dry_run": dry_run})
        return
    state.out.print(rewind_text("would move" if dry_run else "moved", entry), soft_wrap=True)
