"""Config as code: what applying a set of desired configs would add, change and remove, and the
removals themselves (``pipeline-registry config diff`` / ``config import --prune``).

The desired side is the validated upsert DTOs of the config files; the stored side is a scan of
both config tables. Nothing here writes except :func:`remove`, and every delete it makes is
conditional on the version (and incarnation) the comparison read, as the config store's
optimistic locking does: an item edited since is reported, never deleted.

**Prune scope.** Without selectors, the files describe the whole registry (one table prefix, one
environment): every stored pipeline and table they do not declare is removed. With selectors
(``owner=...``, ``tag=...``, any of them matching), only stored pipelines that match, and their
tables, are candidates; pipelines the files declare are always managed by them, so their tables
that the files no longer list are removed too.

Values shown go through :mod:`.redaction` (field by field, map entries by key), like every view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from .errors import ConflictError, ItemNotFoundError, PipelineRunningError, RegistryValidationError
from .redaction import redact_value

if TYPE_CHECKING:
    from .config_store import ConfigReadApi
    from .facade import Registry
    from .model import RegistryModel

Kind = Literal["pipeline", "table"]


class _Absent:
    """A field or map entry that one side does not have (shown as ``null`` in JSON)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class FieldChange:
    """One changed field (``owner``) or map entry (``spark_conf['spark.executor.memory']``),
    its values redacted for display."""

    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "from": None if self.old is ABSENT else self.old,
            "to": None if self.new is ABSENT else self.new,
        }


@dataclass(frozen=True)
class Change:
    """A stored item the files give other values: the stored version and the changed fields."""

    item_id: str
    version: int
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Removal:
    """A stored item the files no longer declare: what to delete, at which version."""

    kind: Kind
    item_id: str
    version: int
    pipeline_id: str  # the pipeline itself, or the table's pipeline
    running_runs: tuple[str, ...] = ()  # pipelines: RUNNING runs found (prune refuses them unless forced)


@dataclass
class KindDiff:
    """The differences for one kind of item."""

    added: list[str] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[Removal] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "add": len(self.added),
            "change": len(self.changed),
            "remove": len(self.removed),
            "unchanged": len(self.unchanged),
        }


@dataclass
class ConfigDiff:
    """What importing the files (with ``--prune``: and pruning) would do."""

    pipelines: KindDiff
    tables: KindDiff
    scope: PruneScope

    @property
    def differences(self) -> bool:
        return any(k.added or k.changed or k.removed for k in (self.pipelines, self.tables))

    @property
    def running(self) -> dict[str, list[str]]:
        """Pipelines to remove that have RUNNING runs -> those runs."""
        return {r.item_id: list(r.running_runs) for r in self.pipelines.removed if r.running_runs}


@dataclass(frozen=True)
class PruneScope:
    """Which stored pipelines a prune may remove: all (no selectors), or those whose owner is one
    of ``owners`` or whose tags include one of ``tags``."""

    owners: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, selectors: Iterable[str]) -> PruneScope:
        """From ``owner=NAME`` / ``tag=TAG`` strings; anything else is a RegistryValidationError."""
        owners: set[str] = set()
        tags: set[str] = set()
        for selector in selectors:
            name, sep, value = selector.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not sep or not value or name not in ("owner", "tag"):
                raise RegistryValidationError(
                    f"prune scope {selector!r}: expected owner=NAME or tag=TAG", field="prune_scope"
                )
            (owners if name == "owner" else tags).add(value)
        return cls(frozenset(owners), frozenset(tags))

    @property
    def everything(self) -> bool:
        return not self.owners and not self.tags

    def covers(self, owner: str, tags: Sequence[str]) -> bool:
        return self.everything or owner in self.owners or bool(self.tags.intersection(tags))

    def to_json(self) -> str | dict[str, list[str]]:
        if self.everything:
            return "all"
        return {"owner": sorted(self.owners), "tag": sorted(self.tags)}

    def __str__(self) -> str:
        if self.everything:
            return "the whole registry"
        parts = [f"owner={o}" for o in sorted(self.owners)] + [f"tag={t}" for t in sorted(self.tags)]
        return "pipelines with " + " or ".join(parts)


# -- comparing ------------------------------------------------------------------------------------
def _shown(key: str, value: Any) -> Any:
    return value if value is ABSENT else redact_value(key, value)


def field_changes(old: BaseModel, new: BaseModel, names: Iterable[str]) -> list[FieldChange]:
    """The fields ``names`` whose values differ, redacted; a map field (``spark_conf``...) is
    compared entry by entry."""
    changes: list[FieldChange] = []
    for name in names:
        before, after = getattr(old, name, None), getattr(new, name, None)
        if before == after:
            continue
        if isinstance(before, Mapping | None) and isinstance(after, Mapping | None) and (before or after):
            old_map, new_map = before or {}, after or {}
            for key in sorted(set(old_map) | set(new_map), key=str):
                was, now = old_map.get(key, ABSENT), new_map.get(key, ABSENT)
                if was != now:
                    # the entry's own key decides, and so does the field's (``options`` holding a password)
                    shown_old = _shown(name, {key: was})[key] if was is not ABSENT else ABSENT
                    shown_new = _shown(name, {key: now})[key] if now is not ABSENT else ABSENT
                    changes.append(FieldChange(f"{name}[{key!r}]", shown_old, shown_new))
            continue
        changes.append(
            FieldChange(
                name,
                ABSENT if before is None else _shown(name, before),
                ABSENT if after is None else _shown(name, after),
            )
        )
    return changes


def _compare(
    desired: Sequence[BaseModel], stored: Mapping[str, BaseModel], id_field: str, names: Sequence[str]
) -> KindDiff:
    diff = KindDiff()
    for dto in desired:
        item_id = getattr(dto, id_field)
        old = stored.get(item_id)
        if old is None:
            diff.added.append(item_id)
            continue
        changes = field_changes(old, dto, names)
        if changes:
            diff.changed.append(Change(item_id, int(getattr(old, "version", 0)), tuple(changes)))
        else:
            diff.unchanged.append(item_id)
    return diff


def compare(
    desired_pipelines: Sequence[BaseModel],
    desired_tables: Sequence[BaseModel],
    stored_pipelines: Sequence[BaseModel],
    stored_tables: Sequence[BaseModel],
    *,
    scope: PruneScope | None = None,
) -> ConfigDiff:
    """What writing the desired items would change, and (``scope`` given) what pruning removes.

    The comparison is the batch import's: an item is unchanged when every upsert field is equal.
    """
    from .pipeline_config.models import PipelineConfigUpsert
    from .table_config.models import TableConfigUpsert

    scope = scope or PruneScope()
    by_pipeline = {getattr(p, "pipeline_id"): p for p in stored_pipelines}  # noqa: B009
    by_table = {getattr(t, "table_id"): t for t in stored_tables}  # noqa: B009
    pipelines = _compare(
        desired_pipelines,
        by_pipeline,
        "pipeline_id",
        [n for n in PipelineConfigUpsert.model_fields if n != "pipeline_id"],
    )
    tables = _compare(
        desired_tables, by_table, "table_id", [n for n in TableConfigUpsert.model_fields if n != "table_id"]
    )
    declared_pipelines = {getattr(p, "pipeline_id") for p in desired_pipelines}  # noqa: B009
    declared_tables = {getattr(t, "table_id") for t in desired_tables}  # noqa: B009
    managed = set(declared_pipelines)
    for pid, stored in sorted(by_pipeline.items()):
        if not scope.covers(getattr(stored, "owner"), getattr(stored, "tags")):  # noqa: B009
            continue
        managed.add(pid)
        if pid not in declared_pipelines:
            pipelines.removed.append(Removal("pipeline", pid, int(getattr(stored, "version")), pid))  # noqa: B009
    for tid, table in sorted(by_table.items()):
        owner = getattr(table, "pipeline_id")  # noqa: B009
        if tid in declared_tables:
            continue
        if scope.everything or owner in managed:
            tables.removed.append(Removal("table", tid, int(getattr(table, "version")), owner))  # noqa: B009
    return ConfigDiff(pipelines, tables, scope)


# -- reading the registry -------------------------------------------------------------------------
def _entities(read: ConfigReadApi[Any, Any]) -> Iterator[RegistryModel]:
    """Every stored item of a config table, as entities (a Scan, page after page)."""
    start = None
    while True:
        page = read.gateway.scan(start_key=start)
        yield from read.entity_type.from_dynamodb_items(page.items, table=read.gateway.table_name)
        if not page.last_evaluated_key:
            return
        start = page.last_evaluated_key


def stored_configs(registry: Registry) -> tuple[list[RegistryModel], list[RegistryModel]]:
    """Every stored pipeline and table config (two Scans)."""
    return list(_entities(registry.pipelines)), list(_entities(registry.tables))


def running_runs(registry: Registry, pipeline_ids: Iterable[str]) -> dict[str, list[str]]:
    """``pipeline_id -> [run ids]`` of the RUNNING runs of these pipelines (the sparse running-runs
    index: one Query whatever the history; a GSI, so a run started a moment ago may be missing)."""
    wanted = set(pipeline_ids)
    found: dict[str, list[str]] = defaultdict(list)
    if not wanted:
        return {}
    for run in registry.runs.iter_running():
        if run.pipeline_id in wanted:
            found[run.pipeline_id].append(run.run_id)
    return {pid: sorted(runs) for pid, runs in sorted(found.items())}


def diff_registry(
    registry: Registry,
    desired_pipelines: Sequence[BaseModel],
    desired_tables: Sequence[BaseModel],
    *,
    scope: PruneScope | None = None,
) -> ConfigDiff:
    """:func:`compare` against what is stored now, with the RUNNING runs of the pipelines to remove."""
    pipelines, tables = stored_configs(registry)
    diff = compare(desired_pipelines, desired_tables, pipelines, tables, scope=scope)
    if diff.pipelines.removed:
        running = running_runs(registry, [r.item_id for r in diff.pipelines.removed])
        diff.pipelines.removed = [
            Removal(r.kind, r.item_id, r.version, r.pipeline_id, tuple(running.get(r.item_id, ())))
            for r in diff.pipelines.removed
        ]
    return diff


# -- removing -------------------------------------------------------------------------------------
@dataclass
class RemovalReport:
    """What :func:`remove` did: deleted (at the version read), already gone, refused (changed since
    the comparison read it: ``{"kind", "id", "reason"}``), kept (tables of a pipeline not deleted)."""

    deleted: list[Removal] = field(default_factory=list)
    gone: list[Removal] = field(default_factory=list)
    conflicts: list[dict[str, str]] = field(default_factory=list)
    kept: list[Removal] = field(default_factory=list)


def check_not_running(diff: ConfigDiff, *, force: bool) -> None:
    """Raise PipelineRunningError when a pipeline to remove has RUNNING runs (unless ``force``)."""
    if diff.running and not force:
        raise PipelineRunningError(diff.running, operation="prune")


def delete_at(registry: Registry, removal: Removal) -> Literal["deleted", "gone"]:
    """Delete one item at the version read; ConflictError when it changed since."""
    write = registry.pipelines_write if removal.kind == "pipeline" else registry.tables_write
    try:
        write.delete(removal.item_id, expected_version=removal.version)
    except ItemNotFoundError:
        return "gone"  # deleted by someone else meanwhile: what we wanted
    return "deleted"


def remove(registry: Registry, diff: ConfigDiff, *, force: bool = False) -> RemovalReport:
    """Delete what ``diff`` removes: pipelines first, then tables (a table of a pipeline whose
    delete was refused is kept, so a pipeline is never left without tables it still names). Each
    delete is conditional on the version the diff read: an item changed since is reported in
    ``conflicts`` and left as it is. Refuses (nothing deleted) a pipeline with RUNNING runs
    unless ``force``."""
    check_not_running(diff, force=force)
    report = RemovalReport()
    refused: set[str] = set()
    for removal in [*diff.pipelines.removed, *diff.tables.removed]:
        if removal.kind == "table" and removal.pipeline_id in refused:
            report.kept.append(removal)
            continue
        try:
            outcome = delete_at(registry, removal)
        except ConflictError as exc:
            if removal.kind == "pipeline":
                refused.add(removal.item_id)
            report.conflicts.append({"kind": removal.kind, "id": removal.item_id, "reason": exc.message})
            continue
        (report.deleted if outcome == "deleted" else report.gone).append(removal)
    return report


__all__ = [
    "ABSENT",
    "Change",
    "ConfigDiff",
    "FieldChange",
    "KindDiff",
    "PruneScope",
    "Removal",
    "RemovalReport",
    "check_not_running",
    "compare",
    "delete_at",
    "diff_registry",
    "field_changes",
    "remove",
    "running_runs",
    "stored_configs",
]
