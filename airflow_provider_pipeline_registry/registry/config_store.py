"""Generic read and write APIs for the two config tables (optimistic locking on ``version``).

``PipelineConfig*Api`` and ``TableConfig*Api`` specialise these with their own models and lists.

Writes are replay-safe, also when another writer wrote in between: botocore retries a call whose
response was lost although DynamoDB had applied it. Every write records a fresh token in the
item's bounded token history (``write_tokens``, token -> the version that write produced; see
:mod:`.write_tokens`), and its condition refuses a second application of that token. When the
condition fails and the stored history holds our token, the write WAS applied: it reports the
version it produced, never re-applies. A delete is fenced on the incarnation it read
(``version`` and ``created_at``), so a replay never deletes an item re-created since.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, overload

import pydantic
from pydantic import BaseModel

from .attributes import AttributeValue, Item, decode_item, encode_value
from .conditional_batch import ConditionalBatch, history_of_raw
from .conditions import Compare, Condition, KeyCondition, Plus, Update, eq, exists, not_exists
from .config import DynamoDBConfig
from .errors import ConflictError, CorruptItemError, ItemNotFoundError, RegistryValidationError, aws_provenance
from .gateway import DynamoDBClient, TableGateway, create_table_gateway
from .keys import build_model_key, decode_page_token, encode_page_token
from .model import RegistryModel, extract_model_metadata, localize_naive_datetimes
from .timezones import check_storable, resolve_user_timezone, utc_now
from .views import ResultPage, ViewModel, iterate_pages
from .write_tokens import (
    WRITE_TOKENS,
    applied,
    carried,
    first_history,
    has_history,
    new_write_token,
    no_history,
    not_applied,
    record,
    trimmed,
)

E = TypeVar("E", bound=RegistryModel)
U = TypeVar("U", bound=BaseModel)
VM = TypeVar("VM", bound=ViewModel)

BOOKKEEPING = ("version", "created_at", "updated_at")
#: how often a write re-reads an item that changed under it before giving up (ConflictError)
_WRITE_ROUNDS = 5
#: how often an unversioned ``delete`` re-reads an item that changed between its read and delete
_DELETE_ROUNDS = _WRITE_ROUNDS


def _raw_string(raw: Mapping[str, AttributeValue] | None, name: str) -> str | None:
    value = (raw or {}).get(name)
    return value.get("S") if isinstance(value, Mapping) else None


def validate_dto(dto_type: type[U], data: U | Mapping[str, Any], tz: tzinfo) -> U:
    """Validate input into ``dto_type``: naive datetimes are read in ``tz``; errors name fields."""
    if isinstance(data, dto_type):
        # the declared fields only: model_dump() would add computed fields (duration_seconds),
        # which the DTO itself refuses as unknown input
        data = {name: getattr(data, name) for name in type(data).model_fields}
    if not isinstance(data, Mapping):
        raise RegistryValidationError(f"expected a {dto_type.__name__} or a mapping, got {type(data).__name__}")
    try:
        dto = dto_type.model_validate(localize_naive_datetimes(dict(data), tz))
    except pydantic.ValidationError as exc:
        raise RegistryValidationError.from_pydantic(exc, model=dto_type.__name__) from None
    for name in type(dto).model_fields:
        value = getattr(dto, name)
        if isinstance(value, datetime):
            check_storable(value, field=name)  # within the calendar in every timezone
    return dto


@cache
def _blank_instance(model_type: type[BaseModel]) -> BaseModel:
    """An unvalidated instance of ``model_type``, built once: ``model_construct`` costs ~0.6 ms a call."""
    return model_type.model_construct()


@dataclass
class BatchUpsertReport:
    """What a batch upsert did. ``failed`` lists every item that was not written, with why."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class _ConfigApiBase(Generic[E]):
    entity_type: ClassVar[type[RegistryModel]]

    def __init__(
        self,
        config: DynamoDBConfig,
        client: DynamoDBClient | None = None,
        gateway: TableGateway | None = None,
    ) -> None:
        self.config = config
        self.gateway = gateway or create_table_gateway(config, self.entity_type, client)
        self.meta = extract_model_metadata(self.entity_type)
        self.id_field = self.meta.partition_key

    def _key(self, item_id: str) -> dict[str, Any]:
        return build_model_key(self.entity_type, **{self.id_field: item_id})

    def _entity(self, item: Item) -> E:
        """The entity of a stored item; one that does not validate is CorruptItemError."""
        return self.entity_type.from_dynamodb_item(item, table=self.gateway.table_name)  # type: ignore[return-value]

    def _stored_entity(self, stored: Mapping[str, Any]) -> E:
        """The entity of a decoded stored item (e.g. ``ConflictError.current``)."""
        return self.entity_type.model_validate(dict(stored))  # type: ignore[return-value]


def check_projection(model: type[BaseModel], attributes: Sequence[str], tz: str | tzinfo | None = None) -> list[str]:
    """``attributes`` of a ``projection=`` read, checked: stored fields of ``model`` (RegistryValidationError
    naming ``projection`` and every unknown name otherwise), at least one, duplicates dropped. A
    projection returns stored values, so a display timezone (``tz``) does not apply to it."""
    if isinstance(attributes, str):
        attributes = [attributes]
    names = list(dict.fromkeys(attributes))
    if not names:
        raise RegistryValidationError("projection: name at least one attribute", field="projection")
    unknown = [n for n in names if n not in model.model_fields]
    if unknown:
        raise RegistryValidationError(
            f"projection: unknown attribute(s) {', '.join(map(repr, unknown))} of {model.__name__} "
            f"(known: {', '.join(model.model_fields)})",
            field="projection",
            errors=[{"field": "projection", "message": "unknown attribute", "value": n} for n in unknown],
        )
    if tz is not None:
        raise RegistryValidationError(
            "tz: a projection returns the stored values (UTC); tz applies to views only", field="tz"
        )
    return names


class ConfigReadApi(_ConfigApiBase[E], Generic[E, VM]):
    """Queries over a config table. Never writes."""

    view_type: ClassVar[type[ViewModel]]

    def _view(self, entity: E, tz: str | tzinfo | None) -> VM:
        return self.view_type.from_entity(entity, resolve_user_timezone(tz, self.config.user_timezone))  # type: ignore[return-value]

    def find_entity(self, item_id: str, *, consistent: bool = False) -> E | None:
        item = self.gateway.get_item(self._key(item_id), consistent=consistent)
        return self._entity(item) if item else None

    def find_by_id(self, item_id: str, *, consistent: bool = False, tz: str | tzinfo | None = None) -> VM | None:
        """The view of ``item_id``, or None when it does not exist."""
        entity = self.find_entity(item_id, consistent=consistent)
        return self._view(entity, tz) if entity else None

    @overload
    def get_by_id(
        self, item_id: str, *, consistent: bool = False, tz: str | tzinfo | None = None, projection: None = None
    ) -> VM: ...

    @overload
    def get_by_id(
        self, item_id: str, *, consistent: bool = False, tz: str | tzinfo | None = None, projection: Sequence[str]
    ) -> dict[str, Any]: ...

    def get_by_id(
        self,
        item_id: str,
        *,
        consistent: bool = False,
        tz: str | tzinfo | None = None,
        projection: Sequence[str] | None = None,
    ) -> VM | dict[str, Any]:
        """The view of ``item_id``; raises ItemNotFoundError when it does not exist.

        With ``projection`` (the seed library's spelling of :meth:`get_attributes`): only those
        attributes, as :meth:`get_attributes` returns them; an unknown name is a RegistryValidationError.
        """
        if projection is not None:
            return self.get_attributes(
                item_id, check_projection(self.entity_type, projection, tz), consistent=consistent
            )
        view = self.find_by_id(item_id, consistent=consistent, tz=tz)
        if view is None:
            raise ItemNotFoundError(
                f"{self.meta.table} {item_id!r} not found",
                table=self.gateway.table_name,
                key={self.id_field: item_id},
            )
        return view

    def get_attributes(self, item_id: str, attributes: Sequence[str], *, consistent: bool = False) -> dict[str, Any]:
        """Only ``attributes`` of ``item_id`` (a projected read); raises ItemNotFoundError."""
        item = self.gateway.get_item(self._key(item_id), consistent=consistent, projection=list(attributes))
        if not item:
            raise ItemNotFoundError(
                f"{self.meta.table} {item_id!r} not found",
                table=self.gateway.table_name,
                key={self.id_field: item_id},
            )
        return decode_item(item)

    def get_many(self, item_ids: Sequence[str], *, tz: str | tzinfo | None = None) -> list[VM]:
        """Views of the given ids that exist, in the order given (BatchGetItem, 100 per call)."""
        keys = [self._key(i) for i in dict.fromkeys(item_ids)]
        by_id = {e.key()[self.id_field]: e for e in map(self._entity, self.gateway.batch_get(keys))}
        return [self._view(by_id[i], tz) for i in dict.fromkeys(item_ids) if i in by_id]

    def _page(
        self,
        key_condition: KeyCondition | None,
        *,
        limit: int,
        page_token: str | None,
        scope: str,
        filter_condition: Condition | None = None,
        tz: str | tzinfo | None = None,
    ) -> ResultPage[VM]:
        start = decode_page_token(page_token, scope=scope)
        if key_condition is None:
            page = self.gateway.scan(limit=limit, start_key=start, filter_condition=filter_condition)
        else:
            page = self.gateway.query(key_condition, limit=limit, start_key=start, filter_condition=filter_condition)
        zone = resolve_user_timezone(tz, self.config.user_timezone)
        entities = self.entity_type.from_dynamodb_items(page.items, table=self.gateway.table_name)
        views: list[VM] = self.view_type.from_entities(entities, zone)  # type: ignore[assignment]
        return ResultPage(views, encode_page_token(page.last_evaluated_key, scope=scope))

    def list_all(
        self, *, limit: int = 100, page_token: str | None = None, tz: str | tzinfo | None = None
    ) -> ResultPage[VM]:
        """Every item of the table, a page at a time (a Scan: for admin tools, not hot paths)."""
        return self._page(None, limit=limit, page_token=page_token, scope=f"{self.meta.table}:all", tz=tz)

    def iter_all(self, *, tz: str | tzinfo | None = None, page_size: int = 100) -> Iterator[VM]:
        """Every item of the table, walking all pages."""
        return iterate_pages(lambda token: self.list_all(limit=page_size, page_token=token, tz=tz))


class ConfigWriteApi(_ConfigApiBase[E], Generic[E, U]):
    """Commands over a config table: create, update, upsert, delete, batch upsert.

    Every write is conditional on ``version`` when an expected version is given; a stale version
    is a ConflictError naming the expected and the stored version.
    """

    upsert_type: ClassVar[type[BaseModel]]

    def _validate(self, data: U | Mapping[str, Any]) -> U:
        return validate_dto(self.upsert_type, data, self.config.tzinfo)  # type: ignore[return-value]

    def _new_entity(self, dto: BaseModel, *, version: int, created_at: Any, updated_at: Any) -> E:
        data = dto.model_dump()
        data.update(version=version, created_at=created_at, updated_at=updated_at)
        return self.entity_type.model_validate(data)  # type: ignore[return-value]

    def create(self, data: U | Mapping[str, Any]) -> E:
        """Create a new item (version 1); ConflictError if it already exists.

        A create retried after a lost response finds its own token in the stored history (also
        after other writers updated the item): it returns the entity it created.
        """
        dto = self._validate(data)
        now = utc_now()
        entity = self._new_entity(dto, version=1, created_at=now, updated_at=now)
        token = new_write_token()
        item = entity.to_dynamodb_item()
        item[WRITE_TOKENS] = encode_value(first_history(token, 1), WRITE_TOKENS)
        try:
            self.gateway.put_item(item, condition=not_exists(self.id_field))
        except ConflictError as exc:
            if applied(exc.current, token) is not None:
                # our first attempt was applied: what it created (the stored item if unchanged)
                unchanged = (exc.current or {}).get("version") == 1
                return self._stored_entity(exc.current or {}) if unchanged else entity
            found = (exc.current or {}).get("version")
            raise ConflictError(
                f"{self.meta.table} {getattr(dto, self.id_field)!r} already exists (version {found})",
                current=exc.current,
                operation="create",
                table=self.gateway.table_name,
                key=entity.key(),
                **aws_provenance(exc),
            ) from exc.__cause__
        return entity

    def _locked_update(
        self,
        item_id: str,
        update: Update,
        expected_version: int | None,
        operation: str,
        allow_create: bool = False,
    ) -> E:
        """One conditional UpdateItem recording a fresh token with the version it produces.

        Usually one request. An item without a token map needs the whole map written: a new item
        (an upsert creating it) under ``attribute_not_exists``, an item of an older release after
        a request that gives it an empty map. A replay (our token in the stored history) reports
        the version it produced.
        """
        token = new_write_token()
        key = self._key(item_id)
        # "existing": add our entry to the stored map; "new": create the item with a map;
        # "no map": the stored item has none (an older release wrote it)
        state = "new" if expected_version == 0 else "existing"
        for _ in range(_WRITE_ROUNDS):
            if state == "no map":
                self._start_history(key)
                state = "existing"
            if state == "new":
                step = replace(update, set={**update.set, WRITE_TOKENS: first_history(token, 1)})
                condition = not_exists(self.id_field) if expected_version == 0 else not_exists("version")
            else:
                produced: Any = Plus("version", 1) if expected_version is None else expected_version + 1
                step = replace(update, set_nested={**update.set_nested, **record(token, produced)})
                condition = has_history() & not_applied(token)
                if expected_version is not None:
                    condition = eq("version", expected_version) & condition
                elif not allow_create:
                    # ``version``, not the key: an item holding only its keys is not a config
                    condition = exists("version") & condition
            try:
                item = self.gateway.update_item(key, step, condition=condition)
            except CorruptItemError:
                if not (allow_create and expected_version is None) or state == "new":
                    raise
                state = "new"  # an item without ``version`` (its keys only): an upsert writes every field
                continue
            except ConflictError as exc:
                current = exc.current
                version = applied(current, token)
                if version is not None:
                    # applied by an attempt whose response was lost: report what it produced
                    return self._replayed(current or {}, update, int(version))
                if current is None:
                    if not (allow_create and expected_version is None):
                        raise self._explain_conflict(exc, item_id, expected_version, operation) from exc.__cause__
                    state = "new"
                    continue
                if expected_version is not None and current.get("version") != expected_version:
                    raise self._explain_conflict(exc, item_id, expected_version, operation) from exc.__cause__
                state = "existing" if WRITE_TOKENS in current else "no map"
                continue  # created, or given a map, since our request: write again
            self._trim(key, item)
            return self._entity(item)
        raise ConflictError(
            f"{self.meta.table} {item_id!r} kept changing during {operation} ({_WRITE_ROUNDS} rounds)",
            operation=operation,
            table=self.gateway.table_name,
            key={self.id_field: item_id},
        )

    def _start_history(self, key: dict[str, AttributeValue]) -> None:
        """Give a stored item without a token map an empty one (changes nothing else)."""
        # gone, or given a map by another writer: the next round reads what is stored
        with contextlib.suppress(ConflictError):
            self.gateway.update_item(key, Update(set={WRITE_TOKENS: {}}), condition=exists("version") & no_history())

    def _trim(self, key: dict[str, AttributeValue], item: Item) -> None:
        """Write an over-long token map back trimmed, if nobody wrote since (best effort)."""
        kept = trimmed(history_of_raw(item))
        version = item.get("version", {}).get("N")
        if kept is None or version is None:
            return
        with contextlib.suppress(ConflictError):  # written since: that writer (or a later one) trims
            self.gateway.update_item(key, Update(set={WRITE_TOKENS: kept}), condition=eq("version", int(version)))

    def _replayed(self, current: Mapping[str, Any], update: Update, version: int) -> E:
        """The result of our applied write, found by its replay: the stored item while it is
        still at the version we produced; after later writes, the fields we wrote (the others
        as stored now) at the version we produced."""
        if current.get("version") == version:
            return self._stored_entity(current)
        fields = self.entity_type.model_fields
        data = {k: v for k, v in current.items() if k in fields}
        data.update({k: v for k, v in update.set.items() if k in fields})
        for name in update.remove:
            data.pop(name, None)
        for name, value in update.set_if_absent.items():
            data.setdefault(name, value)
        data["version"] = version
        return self.entity_type.model_validate(data)  # type: ignore[return-value]

    def _explain_conflict(self, exc: ConflictError, item_id: str, expected: int | None, operation: str) -> Exception:
        context: dict[str, Any] = {
            "operation": operation,
            "table": self.gateway.table_name,
            "key": {self.id_field: item_id},
            **aws_provenance(exc),
        }
        if exc.current is None:
            if expected == 0:
                return ConflictError(f"{self.meta.table} {item_id!r} already exists", **context)
            return ItemNotFoundError(f"{self.meta.table} {item_id!r} not found", **context)
        found = exc.current.get("version")
        if expected == 0:
            return ConflictError(
                f"{self.meta.table} {item_id!r} already exists (version {found})", current=exc.current, **context
            )
        return ConflictError(
            f"{self.meta.table} {item_id!r} is at version {found}, not the expected version {expected}",
            current=exc.current,
            **context,
        )

    def update(self, item_id: str, changes: Mapping[str, Any], *, expected_version: int | None = None) -> E:
        """Change only the given fields; ``None`` removes an optional field. Returns the new entity."""
        if not changes:
            raise RegistryValidationError("update needs at least one field to change", field="changes")
        problems: list[dict[str, Any]] = []
        probe = _blank_instance(self.upsert_type).model_copy()  # a private copy to validate fields on
        validated: dict[str, Any] = {}
        localized = localize_naive_datetimes(dict(changes), self.config.tzinfo)
        for name, value in localized.items():
            if name == self.id_field or name in BOOKKEEPING or name not in self.upsert_type.model_fields:
                problems.append({"field": name, "message": "is not an updatable field"})
                continue
            try:
                self.upsert_type.__pydantic_validator__.validate_assignment(probe, name, value)
                validated[name] = getattr(probe, name)
            except pydantic.ValidationError as exc:
                problems.extend({"field": name, "message": e["msg"]} for e in exc.errors(include_url=False))
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
            raise RegistryValidationError(
                f"invalid update of {self.meta.table}: {summary}", field=problems[0]["field"], errors=problems
            )
        sets = {k: v for k, v in validated.items() if v is not None}
        removes = [k for k, v in validated.items() if v is None]
        sets["updated_at"] = utc_now()
        # unstorable values and oversized items are refused by the gateway before it calls DynamoDB
        update = Update(set=sets, remove=removes, add={"version": 1}, key_strings=self.meta.index_key_attributes)
        return self._locked_update(item_id, update, expected_version, "update")

    def upsert(self, data: U | Mapping[str, Any], *, expected_version: int | None = None) -> E:
        """Create or replace the item's fields; attributes this version does not know are kept.

        ``expected_version=None`` writes whatever is stored; an int makes it conditional
        (``0`` means "must not exist yet").
        """
        dto = self._validate(data)
        item_id = getattr(dto, self.id_field)
        values = dto.model_dump()
        values.pop(self.id_field)
        now = utc_now()
        sets = {k: getattr(dto, k) for k, v in values.items() if v is not None}
        sets["updated_at"] = now
        removes = [k for k, v in values.items() if v is None]
        update = Update(
            set=sets,
            set_if_absent={"created_at": now},
            remove=removes,
            add={"version": 1},
            key_strings=self.meta.index_key_attributes,
        )
        return self._locked_update(item_id, update, expected_version, "upsert", allow_create=True)

    def delete(self, item_id: str, *, expected_version: int | None = None) -> E:
        """Delete and return the deleted entity; ItemNotFoundError if there was none.

        Reads the item (consistently) first, then deletes exactly what it read: the same
        ``version`` of the same incarnation (``created_at``). So a delete retried after a lost
        response returns the entity it deleted, and never deletes an item another writer
        re-created after it. With ``expected_version`` a different stored version is a
        ConflictError; without, an item changed between the read and the delete is read again.
        """
        context: dict[str, Any] = {
            "operation": "delete",
            "table": self.gateway.table_name,
            "key": {self.id_field: item_id},
        }
        key = self._key(item_id)
        for _ in range(_DELETE_ROUNDS):
            raw = self.gateway.get_item(key, consistent=True)
            if raw is None:
                raise ItemNotFoundError(f"{self.meta.table} {item_id!r} not found", **context)
            entity = self._entity(raw)
            version = getattr(entity, "version", None)
            if expected_version is not None and version != expected_version:
                raise ConflictError(
                    f"{self.meta.table} {item_id!r} is at version {version}, not the expected version "
                    f"{expected_version}",
                    current=decode_item(raw),
                    **context,
                )
            created = _raw_string(raw, "created_at")
            condition = eq("version", version)
            if created is not None:
                condition = condition & Compare("created_at", "=", created)
            try:
                old = self.gateway.delete_item(key, condition=condition)
            except ConflictError as exc:
                current = exc.current
                if current is None or current.get("created_at") != created:
                    # the incarnation we read is gone (a consistent read confirmed it): deleted by
                    # our first attempt (its response lost, the call retried), or by a concurrent
                    # delete of the very version we read; an item there now was created since
                    return entity
                if expected_version is not None:
                    raise self._explain_conflict(exc, item_id, expected_version, "delete") from exc.__cause__
                continue  # written since our read: read again
            return self._entity(old) if old else entity
        raise ConflictError(
            f"{self.meta.table} {item_id!r} kept changing while deleting it ({_DELETE_ROUNDS} rounds)", **context
        )

    def batch_upsert(self, items: Sequence[U | Mapping[str, Any]]) -> BatchUpsertReport:
        """Validate all, then write conditionally in transactions; unchanged items are skipped.

        Nothing is written unless every item validates. Items are written in
        ``TransactWriteItems`` of 25 (and at most 4 MB), up to ``batch_concurrency`` at once;
        each put is conditional on the version (and incarnation) it read and records its token
        like every write, so a version number is never given to two contents. A transaction an
        item written in between cancelled is re-read and sent again at the next version (up to 5
        rounds, then its items are listed in ``failed``). Where the implementation has no
        transactions (dynalite), each item is one conditional PutItem instead. Attributes this
        version does not know (written by a newer writer) are kept.
        """
        dtos: list[BaseModel] = []
        problems: list[dict[str, Any]] = []
        for index, data in enumerate(items):
            try:
                dtos.append(self._validate(data))
            except RegistryValidationError as exc:
                problems.extend({**p, "field": f"[{index}].{p['field']}"} for p in exc.errors)
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:20])
            raise RegistryValidationError(
                f"{len(problems)} invalid item(s): {summary}", field=problems[0]["field"], errors=problems
            )
        ids = [getattr(d, self.id_field) for d in dtos]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise RegistryValidationError(f"duplicate {self.id_field} in batch: {dupes[:10]}", field=self.id_field)
        stored = {
            item[self.id_field]["S"]: item
            for item in self.gateway.batch_get([self._key(i) for i in ids], consistent=True)
        }
        by_id = dict(zip(ids, dtos, strict=True))
        now = utc_now()
        batch: ConditionalBatch[str] = ConditionalBatch(
            gateway=self.gateway,
            token=new_write_token(),  # one per batch: each item records it with its own version
            plan=lambda item_id, raw: self._plan(by_id[item_id], raw, batch.token, now),
            key=self._key,
            id_of=lambda raw: raw[self.id_field]["S"],
            resend_changed=True,  # read again, written at the next version
        )
        outcomes = batch.write(ids, stored)
        report = BatchUpsertReport()
        for item_id in ids:
            outcome, reason = outcomes[item_id]
            if outcome == "written":
                report.written.append(item_id)
            elif outcome == "unchanged":
                report.unchanged.append(item_id)
            else:
                report.failed.append({"key": {self.id_field: item_id}, "reason": reason or "not written"})
        return report

    def _plan(self, dto: BaseModel, raw: Item | None, token: str, now: datetime) -> tuple[Item, Condition] | None:
        """The put of one batch item over the stored ``raw`` (None: unchanged), conditional on
        the version and incarnation read, at the next version."""
        old = self._entity(raw) if raw else None
        values = dto.model_dump()
        if old is not None and all(getattr(old, k) == v for k, v in values.items()):
            return None
        version = (getattr(old, "version", 0) + 1) if old else 1
        entity = self._new_entity(
            dto,
            version=version,
            created_at=old.created_at if old else now,  # type: ignore[attr-defined]
            updated_at=now,
        )
        item = entity.to_dynamodb_item()
        item[WRITE_TOKENS] = encode_value(carried(history_of_raw(raw), token, version), WRITE_TOKENS)
        # a put replaces the whole item: carry over attributes a newer writer added
        known = self.entity_type.model_fields
        for name, value in (raw or {}).items():
            if name not in known:
                item.setdefault(name, value)
        if raw is None:
            return item, not_exists(self.id_field)
        condition = eq("version", getattr(old, "version", None))
        created = _raw_string(raw, "created_at")
        if created is not None:
            condition = condition & Compare("created_at", "=", created)
        return item, condition
