"""Generic read and write APIs for the two config tables (optimistic locking on ``version``).

``PipelineConfig*Api`` and ``TableConfig*Api`` specialise these with their own models and lists.

Writes are replay-safe: botocore retries a call whose response was lost although DynamoDB had
applied it. Every write stores a fresh per-write token (``write_token``, a uuid4) with the item,
and its condition refuses a second application of the same token; when the condition fails and
the stored item carries our token, the write WAS applied, and the stored item is the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from functools import cache
from typing import Any, ClassVar, Generic, TypeVar, overload

import pydantic
from pydantic import BaseModel

from .attributes import Item, decode_item
from .conditions import Compare, Condition, KeyCondition, Update, eq, exists, not_exists
from .config import DynamoDBConfig
from .errors import ConflictError, ItemNotFoundError, ValidationError
from .gateway import DynamoDBClient, TableGateway, create_table_gateway
from .keys import build_model_key, decode_page_token, encode_page_token
from .model import RegistryModel, extract_model_metadata, localize_naive_datetimes
from .timezones import check_storable, resolve_user_timezone, utc_now
from .views import ResultPage, ViewModel, iterate_pages

E = TypeVar("E", bound=RegistryModel)
U = TypeVar("U", bound=BaseModel)
VM = TypeVar("VM", bound=ViewModel)

BOOKKEEPING = ("version", "created_at", "updated_at")
#: the stored attribute holding the token of the last write (no model field: views never show it)
WRITE_TOKEN = "write_token"
#: how often an unversioned ``delete`` re-reads an item that changed between its read and delete
_DELETE_ROUNDS = 5


def new_write_token() -> str:
    """A fresh token for one write (compared on a failed condition to recognise a replay)."""
    return uuid.uuid4().hex


def _not_replayed(token: str) -> Condition:
    """The stored item does not already carry ``token`` (this write was not applied yet)."""
    return not_exists(WRITE_TOKEN) | Compare(WRITE_TOKEN, "<>", token)


def _is_ours(stored: Mapping[str, Any] | None, token: str) -> bool:
    return stored is not None and stored.get(WRITE_TOKEN) == token


def validate_dto(dto_type: type[U], data: U | Mapping[str, Any], tz: tzinfo) -> U:
    """Validate input into ``dto_type``: naive datetimes are read in ``tz``; errors name fields."""
    if isinstance(data, dto_type):
        # the declared fields only: model_dump() would add computed fields (duration_seconds),
        # which the DTO itself refuses as unknown input
        data = {name: getattr(data, name) for name in type(data).model_fields}
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected a {dto_type.__name__} or a mapping, got {type(data).__name__}")
    try:
        dto = dto_type.model_validate(localize_naive_datetimes(dict(data), tz))
    except pydantic.ValidationError as exc:
        raise ValidationError.from_pydantic(exc, model=dto_type.__name__) from None
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
    """``attributes`` of a ``projection=`` read, checked: stored fields of ``model`` (ValidationError
    naming ``projection`` and every unknown name otherwise), at least one, duplicates dropped. A
    projection returns stored values, so a display timezone (``tz``) does not apply to it."""
    if isinstance(attributes, str):
        attributes = [attributes]
    names = list(dict.fromkeys(attributes))
    if not names:
        raise ValidationError("projection: name at least one attribute", field="projection")
    unknown = [n for n in names if n not in model.model_fields]
    if unknown:
        raise ValidationError(
            f"projection: unknown attribute(s) {', '.join(map(repr, unknown))} of {model.__name__} "
            f"(known: {', '.join(model.model_fields)})",
            field="projection",
            errors=[{"field": "projection", "message": "unknown attribute", "value": n} for n in unknown],
        )
    if tz is not None:
        raise ValidationError("tz: a projection returns the stored values (UTC); tz applies to views only", field="tz")
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
        attributes, as :meth:`get_attributes` returns them; an unknown name is a ValidationError.
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

        A create retried after a lost response finds its own item: it returns that item.
        """
        dto = self._validate(data)
        now = utc_now()
        entity = self._new_entity(dto, version=1, created_at=now, updated_at=now)
        token = new_write_token()
        item = entity.to_dynamodb_item()
        item[WRITE_TOKEN] = {"S": token}
        try:
            self.gateway.put_item(item, condition=not_exists(self.id_field))
        except ConflictError as exc:
            if _is_ours(exc.current, token):
                return self._stored_entity(exc.current or {})  # our first attempt was applied
            found = (exc.current or {}).get("version")
            raise ConflictError(
                f"{self.meta.table} {getattr(dto, self.id_field)!r} already exists (version {found})",
                current=exc.current,
                operation="create",
                table=self.gateway.table_name,
                key=entity.key(),
            ) from None
        return entity

    def _version_condition(self, expected_version: int | None) -> Condition:
        if expected_version is None:
            # ``version``, not the key: an item holding only its keys is not a config to update
            return exists("version")
        if expected_version == 0:
            return not_exists(self.id_field)
        return eq("version", expected_version)

    def _locked_update(
        self,
        item_id: str,
        update: Update,
        expected_version: int | None,
        operation: str,
        allow_create: bool = False,
    ) -> E:
        token = new_write_token()
        update = replace(update, set={**update.set, WRITE_TOKEN: token})
        condition = _not_replayed(token)
        if not (allow_create and expected_version is None):
            condition = self._version_condition(expected_version) & condition
        try:
            item = self.gateway.update_item(self._key(item_id), update, condition=condition)
        except ConflictError as exc:
            if _is_ours(exc.current, token):
                # applied by an attempt whose response was lost: the stored item is our result
                return self._stored_entity(exc.current or {})
            raise self._explain_conflict(exc, item_id, expected_version, operation) from None
        return self._entity(item)

    def _explain_conflict(self, exc: ConflictError, item_id: str, expected: int | None, operation: str) -> Exception:
        context: dict[str, Any] = {
            "operation": operation,
            "table": self.gateway.table_name,
            "key": {self.id_field: item_id},
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
            raise ValidationError("update needs at least one field to change", field="changes")
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
            raise ValidationError(
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

        Reads the item (consistently) first, then deletes exactly the version it read. So a
        delete retried after a lost response (the item is gone, by our first attempt) still
        returns the entity it deleted, instead of reporting "not found". With
        ``expected_version`` a different stored version is a ConflictError; without, an item
        changed between the read and the delete is read again.
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
            try:
                old = self.gateway.delete_item(key, condition=eq("version", version))
            except ConflictError as exc:
                if exc.current is None:
                    # gone, and a consistent read confirmed it: our delete was applied (its
                    # response lost and the call retried) or a concurrent delete removed the very
                    # version we read. Either way this entity was deleted.
                    return entity
                if expected_version is not None:
                    raise self._explain_conflict(exc, item_id, expected_version, "delete") from None
                continue  # written since our read: read again
            return self._entity(old) if old else entity
        raise ConflictError(
            f"{self.meta.table} {item_id!r} kept changing while deleting it ({_DELETE_ROUNDS} rounds)", **context
        )

    def batch_upsert(self, items: Sequence[U | Mapping[str, Any]]) -> BatchUpsertReport:
        """Validate all, then write in batches; unchanged items are skipped, versions advance.

        Nothing is written unless every item validates. Attributes this version does not know
        (written by a newer writer) are kept. Batch writes cannot be conditional, so
        a concurrent single write to the same item between the read and the write is overwritten:
        use :meth:`upsert` with ``expected_version`` where that matters.
        """
        dtos: list[BaseModel] = []
        problems: list[dict[str, Any]] = []
        for index, data in enumerate(items):
            try:
                dtos.append(self._validate(data))
            except ValidationError as exc:
                problems.extend({**p, "field": f"[{index}].{p['field']}"} for p in exc.errors)
        if problems:
            summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:20])
            raise ValidationError(
                f"{len(problems)} invalid item(s): {summary}", field=problems[0]["field"], errors=problems
            )
        ids = [getattr(d, self.id_field) for d in dtos]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValidationError(f"duplicate {self.id_field} in batch: {dupes[:10]}", field=self.id_field)
        stored = {
            item[self.id_field]["S"]: item
            for item in self.gateway.batch_get([self._key(i) for i in ids], consistent=True)
        }
        existing = {item_id: self._entity(item) for item_id, item in stored.items()}
        known = set(self.entity_type.model_fields)
        report = BatchUpsertReport()
        now = utc_now()
        batch_token = new_write_token()  # a put replayed by botocore writes the same item again
        to_write: list[Item] = []
        for dto in dtos:
            item_id = getattr(dto, self.id_field)
            old = existing.get(item_id)
            if old is not None and all(getattr(old, k) == v for k, v in dto.model_dump().items()):
                report.unchanged.append(item_id)
                continue
            entity = self._new_entity(
                dto,
                version=(getattr(old, "version", 0) + 1) if old else 1,
                created_at=old.created_at if old else now,  # type: ignore[attr-defined]
                updated_at=now,
            )
            item = entity.to_dynamodb_item()
            item[WRITE_TOKEN] = {"S": batch_token}
            # a put replaces the whole item: carry over attributes a newer writer added
            for name, value in stored.get(item_id, {}).items():
                if name not in known:
                    item.setdefault(name, value)
            to_write.append(item)
        result = self.gateway.batch_write(to_write)
        failed_ids = {f["key"][self.id_field] for f in result.failed}
        report.failed.extend(result.failed)
        report.written.extend(
            item[self.id_field]["S"] for item in to_write if item[self.id_field]["S"] not in failed_ids
        )
        return report
