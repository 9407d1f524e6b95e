"""Showing a config diff and removals: ``config diff``, ``config import --prune``, ``pipelines
delete``, ``tables delete``.

The diff is the core's ``config_sync.ConfigDiff``.

Values are already redacted by the core (``config_sync.field_changes``); here they are only laid
out: one line per item (``+`` add, ``~`` change, ``-`` remove), one indented line per changed field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

    from ..registry.config_sync import ConfigDiff, KindDiff, Removal, RemovalReport
    from .config_files import ImportPlan, Problem

_KINDS = (("pipeline", "pipelines"), ("table", "tables"))


def show_value(value: Any) -> str:
    """A value as JSON text (``"4g"``, ``3``, ``["a"]``), ``(absent)`` for a missing one."""
    from ..registry.config_sync import ABSENT

    if value is ABSENT:
        return "(absent)"
    return json.dumps(value, ensure_ascii=False, default=str)


def removal_label(removal: Removal) -> str:
    if removal.kind == "table":
        return f"table {removal.item_id!r} (pipeline {removal.pipeline_id!r}, version {removal.version})"
    return f"pipeline {removal.item_id!r} (version {removal.version})"


def summary_line(diff: ConfigDiff) -> str:
    parts = []
    for kind, plural in _KINDS:
        counts = _kind(diff, kind).counts()
        parts.append(
            f"{plural}: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove,"
            f" {counts['unchanged']} unchanged"
        )
    return "; ".join(parts) + f" (prune scope: {diff.scope})"


def _kind(diff: ConfigDiff, kind: str) -> KindDiff:
    return diff.pipelines if kind == "pipeline" else diff.tables


def diff_lines(diff: ConfigDiff, *, force: bool = False) -> Iterator[Text]:
    """The diff for people: ``+``/``~``/``-`` lines by kind, fields indented under a change."""
    from rich.text import Text

    for kind, _ in _KINDS:
        part = _kind(diff, kind)
        for item_id in part.added:
            yield Text(f"+ {kind} {item_id}", style="green")
        for change in part.changed:
            moves = kind == "table" and any(f.field == "pipeline_id" for f in change.fields)
            note = "  (moves to another pipeline: import needs --allow-move)" if moves else ""
            yield Text(f"~ {kind} {change.item_id} (version {change.version}){note}", style="yellow")
            for fc in change.fields:
                yield Text(f"    {fc.field}: {show_value(fc.old)} -> {show_value(fc.new)}")
        for removal in part.removed:
            line = Text(f"- {removal_label(removal)}", style="red")
            if removal.running_runs:
                runs = ", ".join(map(repr, removal.running_runs))
                verdict = "removed anyway (--force)" if force else "prune refuses it without --force"
                line.append(f"  RUNNING run(s): {runs}: {verdict}", style="bold red")
            yield line


def diff_json(diff: ConfigDiff) -> dict[str, Any]:
    """The diff for scripts (the ``--json`` of ``config diff``, ``would_remove`` of a dry run)."""
    out: dict[str, Any] = {"differences": diff.differences, "prune_scope": diff.scope.to_json()}
    for kind, plural in _KINDS:
        part = _kind(diff, kind)
        out[plural] = {
            "add": list(part.added),
            "change": [
                {"id": c.item_id, "version": c.version, "fields": [f.to_json() for f in c.fields]} for c in part.changed
            ],
            "remove": [removal_json(r) for r in part.removed],
            "unchanged": len(part.unchanged),
        }
    return out


def removal_json(removal: Removal) -> dict[str, Any]:
    data: dict[str, Any] = {"id": removal.item_id, "version": removal.version}
    if removal.kind == "table":
        data["pipeline_id"] = removal.pipeline_id
    else:
        data["running_runs"] = list(removal.running_runs)
    return data


def report_json(report: RemovalReport) -> dict[str, Any]:
    """What the removals did, by kind."""
    out: dict[str, Any] = {}
    for kind, plural in _KINDS:
        out[plural] = {
            "deleted": [removal_json(r) for r in report.deleted if r.kind == kind],
            "already_gone": [r.item_id for r in report.gone if r.kind == kind],
            "kept": [r.item_id for r in report.kept if r.kind == kind],
        }
    out["conflicts"] = list(report.conflicts)
    return out


def report_lines(report: RemovalReport) -> Iterator[Text]:
    from rich.text import Text

    for removal in report.deleted:
        yield Text(f"deleted {removal_label(removal)}")
    for removal in report.gone:
        yield Text(f"already gone: {removal.kind} {removal.item_id!r}")
    for conflict in report.conflicts:
        yield Text(
            f"not deleted: {conflict['kind']} {conflict['id']!r} changed since it was read: {conflict['reason']}",
            style="red",
        )
    for removal in report.kept:
        yield Text(f"kept: {removal_label(removal)} (its pipeline was not deleted)")


def pruned_references(plan: ImportPlan, diff: ConfigDiff) -> list[Problem]:
    """Tables the files declare under a pipeline that the prune would remove (the files do not
    declare it): a problem each, so that a prune never leaves a declared table without its pipeline."""
    from .config_files import Problem

    removed = {r.item_id for r in diff.pipelines.removed}
    problems = []
    for item in plan.tables:
        owner = getattr(item.dto, "pipeline_id")  # noqa: B009
        if owner in removed:
            problems.append(
                Problem(
                    item.file,
                    f"{item.where} (table {item.item_id!r})",
                    "pipeline_id",
                    f"pipeline {owner!r} is not declared in the files, so --prune would remove it:"
                    " declare the pipeline, or drop the table",
                )
            )
    return problems


def dtos(items: Sequence[Any]) -> list[Any]:
    return [i.dto for i in items]
