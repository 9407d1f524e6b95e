"""Config files: parse YAML/JSON, validate every item with the registry DTOs, build export documents.

The format (``.yaml``/``.yml``/``.json``)::

    pipelines:
      - pipeline_id: sales_daily          # any PipelineConfigUpsert field
        name: Daily sales
        tables:
          - table_id: sales_raw           # any TableConfigUpsert field; pipeline_id defaults
            table_name: raw_sales          # to the pipeline it is listed under
    tables:                               # optional: tables listed on their own (pipeline_id required)
      - {table_id: ..., pipeline_id: ..., table_name: ...}

A file may also hold a single pipeline mapping (with its ``tables``) or a list of pipelines.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from ..registry.attributes import check_item_size
from ..registry.config_store import BOOKKEEPING, validate_dto
from ..registry.errors import RegistryValidationError
from ..registry.pipeline_config.models import PipelineConfig, PipelineConfigUpsert, PipelineConfigView
from ..registry.table_config.models import TableConfig, TableConfigUpsert, TableConfigView
from ..registry.timezones import utc_now
from .messages import clean_message, field_path, raw_value, yaml_type_hint

Kind = Literal["pipeline", "table"]
#: fields whose value is a mapping with free-form keys (Spark settings contain dots)
MAPPING_FIELDS = ("spark_conf", "parameters", "options", "metrics")
FileFormat = Literal["yaml", "json"]
TOP_LEVEL_KEYS = ("pipelines", "tables")


@dataclass(frozen=True)
class Problem:
    """One reason an item cannot be imported: where it is (file, item) and what is wrong (field)."""

    file: str
    item: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.field}: {self.message}"


@dataclass
class PlannedItem:
    """A validated item, ready to be written."""

    kind: Kind
    item_id: str
    file: str
    where: str
    dto: BaseModel
    parent: str | None = None  # ``file:location`` of the pipeline a table is listed under


@dataclass(frozen=True)
class Move:
    """A table the import would take from the pipeline it belongs to and give to another."""

    table_id: str
    from_pipeline: str
    to_pipeline: str
    file: str
    where: str


@dataclass
class ImportPlan:
    """The outcome of validating config files: valid items, problems, and which entries failed."""

    pipelines: list[PlannedItem] = field(default_factory=list)
    tables: list[PlannedItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    invalid_entries: set[str] = field(default_factory=set)  # ``file:location`` of invalid items
    moves: list[Move] = field(default_factory=list)  # tables that change pipeline

    @property
    def ok(self) -> bool:
        return not self.problems

    def orphaned_tables(self) -> list[PlannedItem]:
        """Valid tables listed under a pipeline that is itself invalid."""
        return [t for t in self.tables if t.parent is not None and t.parent in self.invalid_entries]


# -- reading -----------------------------------------------------------------------------------
def detect_format(path: Path) -> FileFormat:
    """``json`` for ``*.json``, else ``yaml`` (YAML also reads JSON)."""
    return "json" if path.suffix.lower() == ".json" else "yaml"


class UnreadableFileError(Exception):
    """A config file that cannot be opened or read (missing, a directory, no permission)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read {path}: {reason}")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping of a YAML file gives the same key twice."""

    def __init__(self, key: Any, line: int, first_line: int) -> None:
        self.key = key
        self.line = line
        self.first_line = first_line
        super().__init__(f"duplicate key {key!r} at line {line} (first given at line {first_line})")


#: libyaml's parser where PyYAML was built with it (about 10x faster on a 1,000-pipeline file),
#: with the same safe constructor; else the pure-Python one
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that refuses a key given twice in one mapping (instead of keeping the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges are allowed to be overridden
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKeyError(key, line, seen[key])
                seen[key] = line
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def read_text(path: Path) -> str:
    """The file's text; raises UnreadableFileError when it cannot be opened or read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or type(exc).__name__) from None


def load_file(path: Path) -> Any:
    """The parsed document; raises UnreadableFileError, or RegistryValidationError (field ``<file>``) when
    the file is not UTF-8 or malformed (a duplicate key included, with its line)."""
    try:
        text = read_text(path)
    except UnicodeDecodeError as exc:
        reason = f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise RegistryValidationError(reason, field="<file>") from None
    try:
        if detect_format(path) == "json":
            return json.loads(text, object_pairs_hook=_json_pairs)
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except DuplicateKeyError as exc:
        raise RegistryValidationError(f"line {exc.line}: {exc}", field="<file>") from None
    except json.JSONDecodeError as exc:
        raise RegistryValidationError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", field="<file>"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise RegistryValidationError(f"invalid YAML{where}: {problem}", field="<file>") from None
    except ValueError as exc:  # a duplicate key in a JSON object
        raise RegistryValidationError(f"invalid JSON: {exc}", field="<file>") from None


def _entries(document: Any) -> tuple[list[Any], list[Any], list[tuple[str, str]]]:
    """Split a document into (pipelines, standalone tables, document-level problems)."""
    if isinstance(document, list):
        return document, [], []
    if not isinstance(document, Mapping):
        kind = "empty" if document is None else type(document).__name__
        return [], [], [("<file>", f"expected a mapping or a list of pipelines, got {kind}")]
    if "pipelines" not in document and ("pipeline_id" in document or "tables" not in document):
        return [document], [], []  # a single pipeline (its "tables" are its own)
    problems = [
        (str(key), f"unknown top-level key; expected {' or '.join(TOP_LEVEL_KEYS)}")
        for key in document
        if key not in TOP_LEVEL_KEYS
    ]
    pipelines, tables = document.get("pipelines") or [], document.get("tables") or []
    for name, value in (("pipelines", pipelines), ("tables", tables)):
        if not isinstance(value, list):
            problems.append((name, f"must be a list, got {type(value).__name__}"))
    return (
        pipelines if isinstance(pipelines, list) else [],
        tables if isinstance(tables, list) else [],
        problems,
    )


# -- validating --------------------------------------------------------------------------------
def _label(kind: Kind, raw: Mapping[str, Any], where: str) -> str:
    item_id = raw.get(f"{kind}_id")
    if isinstance(item_id, str) and item_id.strip():
        return f"{where} ({kind} {item_id.strip()!r})"
    return where


def _validate(
    dto_type: type[BaseModel], entity_type: type[PipelineConfig | TableConfig], raw: Mapping[str, Any], tz: tzinfo
) -> tuple[BaseModel | None, list[tuple[str, str]]]:
    """The DTO, or the ``(field, message)`` problems; also checks DynamoDB's item limits."""
    try:
        dto = validate_dto(dto_type, raw, tz)
        now = utc_now()
        entity = entity_type.model_validate({**dto.model_dump(), "version": 1, "created_at": now, "updated_at": now})
        check_item_size(entity.to_dynamodb_item())
    except RegistryValidationError as exc:
        errors = exc.errors or [{"field": exc.field or "<item>", "message": exc.message}]
        return None, [_explain(raw, str(e.get("field") or "<item>"), str(e.get("message"))) for e in errors]
    return dto, []


def _explain(raw: Mapping[str, Any], field_name: str, message: str) -> tuple[str, str]:
    """``(field, message)`` for people: ``tags[0]``, no pydantic prefix, a hint to quote a value
    that YAML read as a number, a boolean or a date where text is expected."""
    message = clean_message(message)
    found, value = raw_value(raw, field_name, MAPPING_FIELDS)
    wants_text = "valid string" in message or (isinstance(value, date) and "JSON value" in message)
    hint = yaml_type_hint(value) if found and wants_text else None
    if hint:
        message = f"{message}: {hint}"
    return field_path(field_name, MAPPING_FIELDS), message


def masked_fields(value: Any, path: str = "") -> list[str]:
    """Paths of the values that hold a mask (``***``) as a redacted export prints them."""
    from ..registry.redaction import looks_redacted

    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in masked_fields(v, f"{path}[{k!r}]" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in masked_fields(v, f"{path}[{i}]")]
    return [path] if looks_redacted(value) else []


MASKED_VALUE_MESSAGE = (
    "holds a masked value (***), as `config export` prints to the terminal: importing it would store the mask"
    " over the real value; export with -o FILE for the real values"
)


class PlanBuilder:
    """Validates config files one after the other into an :class:`ImportPlan`."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.plan = ImportPlan()

    def _problem(self, file: str, item: str, field_name: str, message: str, entry: str | None = None) -> None:
        self.plan.problems.append(Problem(file, item, field_name, message))
        if entry is not None:
            self.plan.invalid_entries.add(entry)

    def add_file(self, path: Path) -> None:
        """Validate every item of ``path``; problems are collected, never raised."""
        file = str(path)
        try:
            document = load_file(path)
        except RegistryValidationError as exc:
            self._problem(file, "<file>", "<file>", clean_message(exc.message))
            return
        pipelines, tables, problems = _entries(document)
        for field_name, message in problems:
            self._problem(file, "<file>", field_name, message)
        if not pipelines and not tables and not problems:
            self._problem(file, "<file>", "pipelines", "the file holds no pipelines and no tables")
        for index, raw in enumerate(pipelines):
            self._add_pipeline(file, f"pipelines[{index}]", raw)
        for index, raw in enumerate(tables):
            self._add_table(file, f"tables[{index}]", raw, parent=None, parent_id=None)

    def _add_pipeline(self, file: str, where: str, raw: Any) -> None:
        entry = f"{file}:{where}"
        if not isinstance(raw, Mapping):
            self._problem(file, where, "<item>", f"expected a mapping, got {type(raw).__name__}", entry)
            return
        data = dict(raw)
        tables = data.pop("tables", None) or []
        label = _label("pipeline", data, where)
        dto, problems = _validate(PipelineConfigUpsert, PipelineConfig, data, self.tz)
        problems += [(masked, MASKED_VALUE_MESSAGE) for masked in masked_fields(data)]
        dto = dto if not problems else None
        for field_name, message in problems:
            self._problem(file, label, field_name, message, entry)
        if dto is not None:
            item_id = getattr(dto, "pipeline_id")  # noqa: B009
            self.plan.pipelines.append(PlannedItem("pipeline", item_id, file, where, dto))
        if not isinstance(tables, list):
            self._problem(file, label, "tables", f"must be a list, got {type(tables).__name__}", entry)
            return
        parent_id = data.get("pipeline_id")
        for index, table in enumerate(tables):
            self._add_table(file, f"{where}.tables[{index}]", table, parent=entry, parent_id=parent_id)

    def _add_table(self, file: str, where: str, raw: Any, *, parent: str | None, parent_id: Any) -> None:
        entry = f"{file}:{where}"
        if not isinstance(raw, Mapping):
            self._problem(file, where, "<item>", f"expected a mapping, got {type(raw).__name__}", entry)
            return
        data = dict(raw)
        label = _label("table", data, where)
        if parent is not None:
            given = data.get("pipeline_id")
            if given is not None and given != parent_id:
                self._problem(
                    file, label, "pipeline_id", f"{given!r} differs from the pipeline it is listed under", entry
                )
                return
            if parent_id is not None:
                data["pipeline_id"] = parent_id
        dto, problems = _validate(TableConfigUpsert, TableConfig, data, self.tz)
        problems += [(masked, MASKED_VALUE_MESSAGE) for masked in masked_fields(data)]
        dto = dto if not problems else None
        for field_name, message in problems:
            self._problem(file, label, field_name, message, entry)
        if dto is not None:
            item_id = getattr(dto, "table_id")  # noqa: B009
            self.plan.tables.append(PlannedItem("table", item_id, file, where, dto, parent))

    def finish(self) -> ImportPlan:
        """Flag ids defined more than once (across all files), then return the plan."""
        for kind, items in (("pipeline", self.plan.pipelines), ("table", self.plan.tables)):
            by_id: dict[str, list[PlannedItem]] = defaultdict(list)
            for item in items:
                by_id[item.item_id].append(item)
            for item_id, dupes in by_id.items():
                if len(dupes) < 2:
                    continue
                places = ", ".join(f"{d.file}:{d.where}" for d in dupes)
                for d in dupes:
                    self._problem(
                        d.file,
                        f"{d.where} ({kind} {item_id!r})",
                        f"{kind}_id",
                        f"defined {len(dupes)} times ({places})",
                        f"{d.file}:{d.where}",
                    )
        self.plan.pipelines = [p for p in self.plan.pipelines if f"{p.file}:{p.where}" not in self.plan.invalid_entries]
        self.plan.tables = [t for t in self.plan.tables if f"{t.file}:{t.where}" not in self.plan.invalid_entries]
        return self.plan


def flag_moves(plan: ImportPlan, owners: Mapping[str, str], *, allow_move: bool) -> None:
    """Record the tables of ``plan`` whose stored pipeline (``owners``: table id -> pipeline id)
    differs; unless ``allow_move``, each is a problem and is not written."""
    for item in list(plan.tables):
        owner = owners.get(item.item_id)
        target = getattr(item.dto, "pipeline_id")  # noqa: B009
        if owner is None or owner == target:
            continue
        plan.moves.append(Move(item.item_id, owner, target, item.file, item.where))
        if allow_move:
            continue
        entry = f"{item.file}:{item.where}"
        plan.problems.append(
            Problem(
                item.file,
                f"{item.where} (table {item.item_id!r})",
                "pipeline_id",
                f"table {item.item_id!r} belongs to pipeline {owner!r}: importing it here would move it to"
                f" {target!r} (pass --allow-move to move it)",
            )
        )
        plan.invalid_entries.add(entry)
        plan.tables.remove(item)


def build_plan(paths: Sequence[Path], tz: tzinfo) -> ImportPlan:
    """Validate every item of every file (naive datetimes read in ``tz``)."""
    builder = PlanBuilder(tz)
    for path in paths:
        builder.add_file(path)
    return builder.finish()


# -- exporting ---------------------------------------------------------------------------------
_HIDDEN = {*BOOKKEEPING, "display_timezone"}


def _fields(view: BaseModel, dto_type: type[BaseModel], drop: Sequence[str] = ()) -> dict[str, Any]:
    data = view.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if k in dto_type.model_fields and k not in _HIDDEN and k not in drop}


def export_document(
    pipelines: Sequence[tuple[PipelineConfigView, Sequence[TableConfigView]]],
    standalone_tables: Sequence[TableConfigView] = (),
) -> dict[str, Any]:
    """The import format for these pipelines (each with its tables) and tables without a pipeline."""
    document: dict[str, Any] = {
        "pipelines": [
            {
                **_fields(pipeline, PipelineConfigUpsert),
                "tables": [_fields(t, TableConfigUpsert, drop=("pipeline_id",)) for t in tables],
            }
            for pipeline, tables in pipelines
        ]
    }
    if standalone_tables:
        document["tables"] = [_fields(t, TableConfigUpsert) for t in standalone_tables]
    return document


def dump_document(document: Mapping[str, Any], fmt: FileFormat) -> str:
    """Serialize an export document as YAML or JSON."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, default_flow_style=False)
