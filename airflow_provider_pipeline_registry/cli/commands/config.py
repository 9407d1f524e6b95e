"""``pipeline-registry config``: import config files (validated first), export them back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ...registry.errors import (
    AccessDeniedError,
    ItemNotFoundError,
    RegistryValidationError,
    RetryableError,
    TableNotFoundError,
)
from ..context import CliState, get_state
from ..diffs import diff_json, diff_lines, report_json, report_lines, summary_line
from ..exit_codes import ExitCode
from ..groups import GROUPS
from ..render import FitTable, echo_json

if TYPE_CHECKING:  # the registry's models, boto3 and rich are imported when a command runs, not for --help
    from rich.table import Table

    from ...registry.config_store import BatchUpsertReport
    from ...registry.config_sync import ConfigDiff, PruneScope
    from ...registry.table_config.models import TableConfigView
    from ..config_files import ImportPlan, PlannedItem, Problem

config_app = typer.Typer(help=GROUPS["config"].help, no_args_is_help=True)

PruneScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--prune-scope",
        help="Limit removals to stored pipelines with owner=NAME or tag=TAG (repeatable, any matches) and "
        "their tables; default: the whole registry (the files describe all of it).",
        show_default=False,
        metavar="owner=NAME|tag=TAG",
    ),
]

#: items per ``batch_upsert`` call (one BatchGetItem of 100 keys, four BatchWriteItem of 25)
CHUNK_SIZE = 100


class ExportFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


@dataclass
class KindReport:
    """What the import did to one kind of item."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, report: BatchUpsertReport) -> None:
        self.written.extend(report.written)
        self.unchanged.extend(report.unchanged)
        self.failed.extend(report.failed)

    def counts(self) -> dict[str, int]:
        return {"written": len(self.written), "unchanged": len(self.unchanged), "failed": len(self.failed)}


def _problems_table(problems: Sequence[Problem], title: str) -> FitTable:
    rows = ((p.file, p.item, p.field, p.message) for p in problems)
    return FitTable(title, ("file", "item", "field", "problem"), rows, min_widths={"problem": 32})


def _problem_json(problem: Problem) -> dict[str, str]:
    return {"file": problem.file, "item": problem.item, "field": problem.field, "message": problem.message}


def _write(
    state: CliState,
    plan_pipelines: Sequence[PlannedItem],
    plan_tables: Sequence[PlannedItem],
) -> dict[str, KindReport]:
    """Upsert pipelines then tables in chunks, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    reports = {"pipelines": KindReport(), "tables": KindReport()}
    writers: dict[str, Callable[[list[Any]], BatchUpsertReport]] = {
        "pipelines": state.registry.pipelines_write.batch_upsert,
        "tables": state.registry.tables_write.batch_upsert,
    }
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=state.err, transient=False) as progress:
        for kind, items in (("pipelines", plan_pipelines), ("tables", plan_tables)):
            if not items:
                continue
            task = progress.add_task(f"writing {kind}", total=len(items))
            for start in range(0, len(items), CHUNK_SIZE):
                chunk = items[start : start + CHUNK_SIZE]
                reports[kind].add(writers[kind]([i.dto for i in chunk]))
                progress.advance(task, len(chunk))
    return reports


def _report_table(reports: dict[str, KindReport], skipped: int) -> Table:
    from rich.table import Table

    table = Table(title="import", title_justify="left")
    for name in ("kind", "written", "unchanged", "failed"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    for kind, report in reports.items():
        counts = report.counts()
        table.add_row(kind, str(counts["written"]), str(counts["unchanged"]), str(counts["failed"]))
    if skipped:
        table.caption = f"{skipped} valid table(s) skipped because their pipeline is invalid"
    return table


def _select(plan: ImportPlan, partial: bool) -> tuple[list[PlannedItem], list[PlannedItem], list[PlannedItem]]:
    """(pipelines, tables, skipped tables) to write."""
    if not partial:
        return plan.pipelines, plan.tables, []
    orphaned = plan.orphaned_tables()
    ids = {id(t) for t in orphaned}
    return plan.pipelines, [t for t in plan.tables if id(t) not in ids], orphaned


def _check_moves(state: CliState, plan: ImportPlan, *, allow_move: bool, dry_run: bool) -> None:
    """Flag tables the import would take from another pipeline (a read of the stored tables)."""
    from rich.text import Text

    from ..config_files import flag_moves

    if not plan.tables:
        return
    try:
        stored = state.registry.tables.get_many([t.item_id for t in plan.tables], tz=state.tz)
    except (TableNotFoundError, RetryableError, AccessDeniedError) as exc:
        if not dry_run or isinstance(exc, TableNotFoundError):
            if dry_run:
                return  # no table_config table yet: nothing can move
            raise
        state.err.print(Text(f"note: tables that would move to another pipeline were not checked: {exc.message}"))
        return
    flag_moves(plan, {t.table_id: t.pipeline_id for t in stored}, allow_move=allow_move)


def _failure_key(failure: dict[str, Any]) -> str:
    key = failure.get("key")
    if isinstance(key, dict):
        return ", ".join(str(v) for v in key.values())
    return str(key)


@config_app.command("import")
def import_config(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="YAML or JSON config files.", show_default=False, metavar="FILE")],
    partial: Annotated[
        bool, typer.Option("--partial", help="Write the valid items even if others are invalid (then exit 5).")
    ] = False,
    allow_move: Annotated[
        bool,
        typer.Option("--allow-move", help="Let a table that belongs to another pipeline move to the one listed here."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only; write nothing.")] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also delete the pipelines and tables the files no longer declare (within --prune-scope), "
            "each conditional on the version read.",
        ),
    ] = False,
    prune_scope: PruneScopeOption = None,
    reviewed_diff: Annotated[
        Path | None,
        typer.Option(
            "--reviewed-diff",
            help="With --prune: the `config diff --json` output the removals were reviewed with; a removal "
            "it does not list, or lists at another version, refuses the import (exit 4, nothing written).",
            show_default=False,
            metavar="FILE",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --prune: delete a pipeline even if it has a RUNNING run.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Validate config files, then upsert their pipelines and tables (unchanged items are skipped).

    Every problem is listed with its file, item and field. Nothing is written unless every item
    is valid, or ``--partial`` is given. A table that belongs to another pipeline is not moved
    unless ``--allow-move`` is given. ``--prune`` then deletes what the files no longer declare
    (``config diff`` shows it first); it refuses, before writing anything, a pipeline with a
    RUNNING run unless ``--force`` (exit 4), and reports an item edited since it was read instead
    of deleting it (exit 4).
    """
    from rich.text import Text

    from ..config_files import UnreadableFileError, build_plan

    state = get_state(ctx)
    if prune and partial:
        raise typer.BadParameter("--prune needs every item valid: it cannot be combined with --partial")
    if not prune and (prune_scope or force or reviewed_diff):
        raise typer.BadParameter("--prune-scope, --reviewed-diff and --force apply to --prune only")
    reviewed = _reviewed_removals(reviewed_diff) if reviewed_diff else None
    scope = _scope(prune_scope)
    try:
        plan = build_plan(files, state.tz)
    except UnreadableFileError as exc:
        state.err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from None
    _check_moves(state, plan, allow_move=allow_move, dry_run=dry_run)
    diff = _prune_plan(state, plan, scope, force=force, dry_run=dry_run) if prune and plan.ok else None
    if diff is not None and reviewed is not None and plan.ok:
        _check_reviewed(diff, reviewed)
    pipelines, tables, skipped = _select(plan, partial)
    write = not dry_run and (plan.ok or partial)
    if plan.problems and not as_json:
        title = f"{len(plan.problems)} problem(s)"
        state.err.print(_problems_table(plan.problems, title))
    if plan.moves and allow_move and not as_json:
        verb = "would move" if not write else "moving"
        for move in plan.moves:
            state.err.print(
                Text(f"{verb} table {move.table_id!r} from pipeline {move.from_pipeline!r} to {move.to_pipeline!r}"),
                soft_wrap=True,
            )
    reports = _write(state, pipelines, tables) if write else {"pipelines": KindReport(), "tables": KindReport()}
    removal = None
    if diff is not None and write and not any(r.failed for r in reports.values()):
        from ...registry.config_sync import remove

        removal = remove(state.registry, diff, force=force)
    if as_json:
        extra: dict[str, Any] = {}
        if diff is not None:
            extra["prune_scope"] = diff.scope.to_json()
            extra["would_remove"] = {k: diff_json(diff)[k]["remove"] for k in ("pipelines", "tables")}
        if removal is not None:
            extra["removed"] = report_json(removal)
        echo_json(
            {
                "written": write,
                **extra,
                "pipelines": {**reports["pipelines"].counts(), "failed_items": reports["pipelines"].failed},
                "tables": {**reports["tables"].counts(), "failed_items": reports["tables"].failed},
                "problems": [_problem_json(p) for p in plan.problems],
                "skipped_tables": [t.item_id for t in skipped],
                "moved_tables": [
                    {"table_id": m.table_id, "from": m.from_pipeline, "to": m.to_pipeline, "allowed": allow_move}
                    for m in plan.moves
                ],
                "valid": {"pipelines": len(plan.pipelines), "tables": len(plan.tables)},
            }
        )
    elif write:
        state.out.print(_report_table(reports, len(skipped)))
        for line in report_lines(removal) if removal is not None else ():
            state.out.print(line, soft_wrap=True)
    elif plan.problems:
        hint = "fix the problems above"
        if not dry_run:
            hint += ", or pass --partial to write the valid items"
        state.err.print(Text(f"nothing written: {hint}"), soft_wrap=True)
    else:
        state.out.print(f"valid: {len(plan.pipelines)} pipeline(s), {len(plan.tables)} table(s); nothing written")
        if diff is not None:
            removals = [*diff.pipelines.removed, *diff.tables.removed]
            for line in diff_lines(_only_removals(diff), force=force):
                state.out.print(Text("would remove: ").append_text(line), soft_wrap=True)
            if not removals:
                state.out.print(f"would remove nothing (prune scope: {diff.scope})")
    if any(r.failed for r in reports.values()):
        if not as_json:
            for kind, report in reports.items():
                for failure in report.failed:
                    state.err.print(Text(f"{kind}: {_failure_key(failure)}: {failure.get('reason')}"), soft_wrap=True)
        raise typer.Exit(ExitCode.CONNECTION)
    if plan.problems:
        raise typer.Exit(ExitCode.VALIDATION)
    if removal is not None and removal.conflicts:
        if not as_json:
            state.err.print(
                Text("some items changed since they were read and were not deleted: run `config diff` again"),
                soft_wrap=True,
            )
        raise typer.Exit(ExitCode.CONFLICT)
    if diff is not None and diff.running and not force:  # a dry run that the real one would refuse
        from ...registry.errors import PipelineRunningError

        raise PipelineRunningError(diff.running, operation="prune")


def _scope(selectors: list[str] | None) -> PruneScope:
    from ...registry.config_sync import PruneScope

    try:
        return PruneScope.parse(selectors or [])
    except RegistryValidationError as exc:
        raise typer.BadParameter(exc.message, param_hint="--prune-scope") from None


def _only_removals(diff: ConfigDiff) -> ConfigDiff:
    from dataclasses import replace

    from ...registry.config_sync import KindDiff

    return replace(
        diff, pipelines=KindDiff(removed=diff.pipelines.removed), tables=KindDiff(removed=diff.tables.removed)
    )


def _reviewed_removals(path: Path) -> dict[tuple[str, str], int]:
    """``(kind, id) -> version`` of the removals a saved ``config diff --json`` lists."""
    import json

    from ..config_files import UnreadableFileError, read_text

    try:
        text = read_text(path)
    except UnreadableFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--reviewed-diff") from None
    try:
        document = json.loads(text)
        return {
            (kind, str(entry["id"])): int(entry["version"])
            for kind, plural in (("pipeline", "pipelines"), ("table", "tables"))
            for entry in document[plural]["remove"]
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryValidationError(
            f"{path}: not the output of `config diff --json` ({type(exc).__name__}: {exc})", field="reviewed_diff"
        ) from None


def _check_reviewed(diff: ConfigDiff, reviewed: dict[tuple[str, str], int]) -> None:
    """Refuse (ConflictError, before anything is written) removals the reviewed diff did not show
    as they are now: not listed, or listed at another version (edited since the review)."""
    from ...registry.errors import ConflictError

    problems = []
    for removal in [*diff.pipelines.removed, *diff.tables.removed]:
        seen = reviewed.get((removal.kind, removal.item_id))
        if seen is None:
            problems.append(f"{removal.kind} {removal.item_id!r} (version {removal.version}) is not in it")
        elif seen != removal.version:
            problems.append(
                f"{removal.kind} {removal.item_id!r} is at version {removal.version}, reviewed at version {seen}"
            )
    if problems:
        raise ConflictError(
            "the registry changed since the reviewed diff: " + "; ".join(problems) + " (run `config diff` again)",
            operation="prune",
        )


def _prune_plan(state: CliState, plan: ImportPlan, scope: PruneScope, *, force: bool, dry_run: bool) -> ConfigDiff:
    """The removals of ``--prune`` (read before anything is written). A declared table whose
    pipeline the prune would remove becomes a problem of the plan; a pipeline to remove that has
    RUNNING runs refuses the whole import (nothing written) unless ``force``."""
    from ...registry.config_sync import check_not_running, diff_registry
    from ..diffs import dtos, pruned_references

    diff = diff_registry(state.registry, dtos(plan.pipelines), dtos(plan.tables), scope=scope)
    plan.problems.extend(pruned_references(plan, diff))
    if not dry_run and plan.ok:
        check_not_running(diff, force=force)
    return diff


@config_app.command("diff")
def diff_config(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="YAML or JSON config files.", show_default=False, metavar="FILE")],
    prune_scope: PruneScopeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the differences as JSON.")] = False,
) -> None:
    """Show what ``config import --prune FILE...`` would add, change and remove; writes nothing.

    Changes are listed field by field (map fields entry by entry), secrets masked. Exit 0 when the
    registry already matches the files, 10 when they differ, 5 when a file is invalid (nothing
    compared), 2 when a file cannot be read.
    """
    from rich.text import Text

    from ...registry.config_sync import diff_registry
    from ..config_files import UnreadableFileError, build_plan
    from ..diffs import dtos, pruned_references

    state = get_state(ctx)
    scope = _scope(prune_scope)
    try:
        plan = build_plan(files, state.tz)
    except UnreadableFileError as exc:
        state.err.print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        raise typer.Exit(ExitCode.USAGE) from None
    diff = None
    if plan.ok:
        diff = diff_registry(state.registry, dtos(plan.pipelines), dtos(plan.tables), scope=scope)
        plan.problems.extend(pruned_references(plan, diff))
    if as_json:
        echo_json(
            {
                **(diff_json(diff) if diff is not None and plan.ok else {"differences": None}),
                "problems": [_problem_json(p) for p in plan.problems],
            }
        )
    elif plan.problems:
        state.err.print(_problems_table(plan.problems, f"{len(plan.problems)} problem(s)"))
        state.err.print(Text("nothing compared: fix the problems above"), soft_wrap=True)
    elif diff is not None:
        for line in diff_lines(diff):
            state.out.print(line, soft_wrap=True)
        state.out.print(Text(summary_line(diff) if diff.differences else f"no differences ({summary_line(diff)})"))
    if plan.problems:
        raise typer.Exit(ExitCode.VALIDATION)
    if diff is not None and diff.differences:
        raise typer.Exit(ExitCode.DIFFERENCES)


@config_app.command("export")
def export_config(
    ctx: typer.Context,
    pipeline: Annotated[
        list[str] | None,
        typer.Option(
            "--pipeline", "-p", help="Export only this pipeline (repeatable); default: all.", show_default=False
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False)
    ] = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format", "-f", help="yaml or json; default: from the file suffix, else yaml.", show_default=False
        ),
    ] = None,
) -> None:
    """Write pipelines with their tables in the import format (export then import is a round trip).

    On stdout, secrets are masked (``***``: values under sensitive names, URL userinfo,
    ``password=`` pairs); ``-o FILE`` writes the real values.
    """
    from rich.text import Text

    from ..config_files import detect_format, dump_document, export_document

    state = get_state(ctx)
    read = state.registry
    if pipeline:
        wanted = list(dict.fromkeys(pipeline))
        found = read.pipelines.get_many(wanted, tz=state.tz)
        missing = sorted(set(wanted) - {p.pipeline_id for p in found})
        if missing:
            raise ItemNotFoundError(
                f"pipeline(s) not found: {', '.join(missing)}", table=read.config.table_name("pipeline_config")
            )
        pairs = [(p, list(read.tables.iter_by_pipeline(p.pipeline_id, tz=state.tz))) for p in found]
        standalone: list[TableConfigView] = []
    else:
        pipelines = sorted(read.pipelines.iter_all(tz=state.tz), key=lambda p: p.pipeline_id)
        by_pipeline: dict[str, list[TableConfigView]] = defaultdict(list)
        for table in read.tables.iter_all(tz=state.tz):
            by_pipeline[table.pipeline_id].append(table)
        pairs = [(p, sorted(by_pipeline.pop(p.pipeline_id, []), key=lambda t: t.table_id)) for p in pipelines]
        standalone = sorted((t for ts in by_pipeline.values() for t in ts), key=lambda t: t.table_id)
    chosen = fmt.value if fmt else (detect_format(output) if output else "yaml")
    document = export_document(pairs, standalone)
    if output is None:
        from ...registry.redaction import redact_mapping

        shown = redact_mapping(document)
        typer.echo(dump_document(shown, "json" if chosen == "json" else "yaml"), nl=False)
        if shown != document:
            state.err.print(
                Text("note: secrets are masked (***) on stdout; -o FILE writes the real values"), soft_wrap=True
            )
        return
    text = dump_document(document, "json" if chosen == "json" else "yaml")
    output.write_text(text, encoding="utf-8")
    n_tables = sum(len(ts) for _, ts in pairs) + len(standalone)
    state.err.print(Text(f"exported {len(pairs)} pipeline(s) and {n_tables} table(s) to {output}"), soft_wrap=True)
