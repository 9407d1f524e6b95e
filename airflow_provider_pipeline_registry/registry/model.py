"""The model base: a Pydantic model whose ``Meta`` names its table, keys and secondary indexes.

``Meta`` is the single source of truth: table creation (:mod:`.schema`), key building
(:mod:`.keys`) and serialization all read it through :func:`extract_model_metadata`.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import cache, cached_property
from typing import Any, ClassVar, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, model_validator

from .attributes import AttributeValue, Item, check_key_value
from .codec import ModelCodec, build_codec
from .config import LogicalTable
from .errors import CorruptItemError, RegistryValidationError
from .timezones import localize, to_utc

Projection = Literal["ALL", "KEYS_ONLY", "INCLUDE"]
#: DynamoDB's limit on the non-key attributes projected (``INCLUDE``) over all indexes of a table
MAX_PROJECTED_ATTRIBUTES = 100
_ZERO = timedelta(0)


@dataclass(frozen=True)
class GlobalSecondaryIndex:
    """A GSI as declared in a model's ``Meta.gsis``. ``non_key_attributes``: what an ``INCLUDE``
    projection copies besides the keys (the table's and the index's, always projected)."""

    name: str
    partition_key: str
    sort_key: str | None = None
    projection: Projection = "ALL"
    non_key_attributes: tuple[str, ...] = ()
    sparse: bool = False  # items lacking the key attributes are simply not in the index


@dataclass(frozen=True)
class ModelMetadata:
    """Everything the gateway and schema need to know about a model, read from its ``Meta``."""

    model: type[RegistryModel]
    table: LogicalTable
    partition_key: str
    sort_key: str | None
    gsis: tuple[GlobalSecondaryIndex, ...]
    ttl_attribute: str | None
    attribute_types: dict[str, Literal["S", "N"]] = field(default_factory=dict)

    @cached_property
    def key_names(self) -> tuple[str, ...]:
        return (self.partition_key, self.sort_key) if self.sort_key else (self.partition_key,)

    @cached_property
    def index_key_attributes(self) -> frozenset[str]:
        """Attributes that are a key of the table or of any index (booleans stored as strings)."""
        names = set(self.key_names)
        for gsi in self.gsis:
            names.add(gsi.partition_key)
            if gsi.sort_key:
                names.add(gsi.sort_key)
        return frozenset(names)

    def index(self, name: str) -> GlobalSecondaryIndex:
        for gsi in self.gsis:
            if gsi.name == name:
                return gsi
        raise RegistryValidationError(f"{self.table} has no index {name!r}", field="index")


class RegistryModel(BaseModel):
    """Base of every stored entity. Subclasses declare an inner ``class Meta``.

    ``Meta`` attributes: ``table`` (logical table name), ``partition_key``, ``sort_key``
    (optional), ``gsis`` (sequence of :class:`GlobalSecondaryIndex`), ``ttl_attribute`` (optional).
    """

    model_config = ConfigDict(extra="ignore", validate_assignment=False, use_enum_values=False)

    Meta: ClassVar[type]

    @model_validator(mode="after")
    def _datetimes_in_utc(self) -> Self:
        """Every datetime field is stored as aware UTC; a naive one is refused, naming the field."""
        for name in datetime_fields(type(self)):
            value = self.__dict__.get(name)
            if value is None or value.tzinfo is UTC:
                continue
            if value.tzinfo is not None and value.utcoffset() == _ZERO:  # e.g. pydantic's own UTC
                self.__dict__[name] = value.replace(tzinfo=UTC)
            else:
                self.__dict__[name] = to_utc(value, field=name)
        return self

    def to_dynamodb_item(self) -> Item:
        """Serialize to a low-level DynamoDB item (``None`` fields are omitted)."""
        model = type(self)
        item = model_codec(model).encode(self.__dict__)
        meta = extract_model_metadata(model)
        for key_name in meta.key_names:
            if key_name not in item:
                raise RegistryValidationError(f"{key_name}: key attribute is missing", field=key_name)
            check_key_value(key_name, self.__dict__[key_name], is_sort_key=key_name == meta.sort_key)
        return item

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate (stored) data; a failure is :class:`CorruptItemError`, never pydantic's error.

        Entities are built from stored items, so data that does not validate here is a stored
        item that is not what its model says (the error names the table, the key and the fields).
        """
        try:
            return super().model_validate(obj, *args, **kwargs)
        except pydantic.ValidationError as exc:
            raise corrupt_item_error(cls, obj, exc) from None

    @classmethod
    def from_dynamodb_item(cls, item: Mapping[str, AttributeValue], *, table: str | None = None) -> Self:
        """Deserialize a low-level item; attributes this version does not know are ignored.

        An item that does not validate raises :class:`CorruptItemError` naming ``table`` (the
        physical name, when the caller knows it), the key and the fields.
        """
        data = model_codec(cls).decode(item)
        try:
            return cls.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]
        except pydantic.ValidationError as exc:
            raise corrupt_item_error(cls, data, exc, table=table) from None

    @classmethod
    def from_dynamodb_items(
        cls, items: Iterable[Mapping[str, AttributeValue]], *, table: str | None = None
    ) -> list[Self]:
        """Deserialize a page of items (see :meth:`from_dynamodb_item`), decoding with one codec."""
        decode = model_codec(cls).decode
        validate = cls.__pydantic_validator__.validate_python
        entities: list[Self] = []
        for item in items:
            data = decode(item)
            try:
                entities.append(validate(data))
            except pydantic.ValidationError as exc:
                raise corrupt_item_error(cls, data, exc, table=table) from None
        return entities

    @classmethod
    def from_dynamodb_items_reporting(
        cls, items: Iterable[Mapping[str, AttributeValue]], *, table: str | None = None
    ) -> tuple[list[Self], list[CorruptItemError]]:
        """Like :meth:`from_dynamodb_items`, but an item that does not validate does not stop the
        page: it is reported as a :class:`CorruptItemError` (naming table, key and fields) and skipped.
        For readers that show a list (a run another tool wrote with an unknown status must not hide
        the others)."""
        decode = model_codec(cls).decode
        validate = cls.__pydantic_validator__.validate_python
        entities: list[Self] = []
        corrupt: list[CorruptItemError] = []
        for item in items:
            try:
                data = decode(item)
            except (ValueError, TypeError, KeyError) as exc:  # an attribute of the wrong DynamoDB type
                corrupt.append(_undecodable_item_error(cls, item, exc, table=table))
                continue
            try:
                entities.append(validate(data))
            except pydantic.ValidationError as exc:
                corrupt.append(corrupt_item_error(cls, data, exc, table=table))
        return entities, corrupt

    def key(self) -> dict[str, Any]:
        """The primary key as plain values."""
        meta = extract_model_metadata(type(self))
        return {name: getattr(self, name) for name in meta.key_names}


def corrupt_item_error(
    model: type[RegistryModel], data: Any, exc: pydantic.ValidationError, *, table: str | None = None
) -> CorruptItemError:
    """Our error for stored ``data`` that does not validate as ``model``: table, key and fields named."""
    problems: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        field_name = ".".join(str(part) for part in err["loc"]) or "<root>"
        problems.append({"field": field_name, "message": err["msg"]})
    key: dict[str, Any] | None = None
    try:
        meta = extract_model_metadata(model)
    except TypeError:  # a model without Meta: no table or key to name
        meta = None
    if meta is not None:
        table = table or meta.table
        if isinstance(data, Mapping):
            key = {name: data.get(name) for name in meta.key_names}
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:20])
    where = f" in {table}" if table else ""
    return CorruptItemError(
        f"stored {model.__name__} item{where} does not validate: {summary}",
        field=problems[0]["field"] if problems else None,
        errors=problems,
        table=table,
        key=key,
    )


def _undecodable_item_error(
    model: type[RegistryModel], item: Mapping[str, AttributeValue], exc: Exception, *, table: str | None = None
) -> CorruptItemError:
    """Our error for a stored item whose attributes cannot even be decoded (wrong DynamoDB types)."""
    meta = extract_model_metadata(model)
    table = table or meta.table
    key: dict[str, Any] = {}
    for name in meta.key_names:
        raw = item.get(name)
        key[name] = next(iter(raw.values()), None) if isinstance(raw, Mapping) and raw else None
    message = f"{type(exc).__name__}: {exc}"
    return CorruptItemError(
        f"stored {model.__name__} item in {table} cannot be decoded: {message}",
        field=None,
        errors=[{"field": "<item>", "message": message}],
        table=table,
        key=key,
    )


def _attribute_type(annotation: Any) -> Literal["S", "N"]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _attribute_type(args[0])
    if annotation in (int, float, Decimal):
        return "N"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "N" if all(isinstance(m.value, int) for m in annotation) else "S"
    if annotation in (str, bool, datetime, date) or origin is Literal:
        return "S"
    raise TypeError(f"{annotation!r} cannot be a key attribute")


def _mentions_datetime(annotation: Any) -> bool:
    if annotation is datetime:
        return True
    return any(_mentions_datetime(arg) for arg in typing.get_args(annotation))


@cache
def datetime_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Names of the fields of ``model`` whose type is (optionally) a datetime."""
    return tuple(name for name, info in model.model_fields.items() if _mentions_datetime(info.annotation))


@cache
def model_codec(model: type[RegistryModel]) -> ModelCodec:
    """The compiled encoders/decoders of ``model`` (booleans that key an index stored as strings)."""
    return build_codec(model, extract_model_metadata(model).index_key_attributes)


@cache
def extract_model_metadata(model: type[RegistryModel]) -> ModelMetadata:
    """Read and check a model's ``Meta``; cached per model class."""
    meta = getattr(model, "Meta", None)
    if meta is None:
        raise TypeError(f"{model.__name__} has no Meta class")
    gsis = tuple(getattr(meta, "gsis", ()))
    metadata = ModelMetadata(
        model=model,
        table=meta.table,
        partition_key=meta.partition_key,
        sort_key=getattr(meta, "sort_key", None),
        gsis=gsis,
        ttl_attribute=getattr(meta, "ttl_attribute", None),
    )
    for name in metadata.index_key_attributes:
        if name not in model.model_fields:
            raise TypeError(f"{model.__name__}.Meta names {name!r}, which is not a field")
        metadata.attribute_types[name] = _attribute_type(model.model_fields[name].annotation)
    _check_projections(model, gsis)
    return metadata


def _check_projections(model: type[RegistryModel], gsis: tuple[GlobalSecondaryIndex, ...]) -> None:
    """Each ``INCLUDE`` index names fields of ``model`` (and only ``INCLUDE`` names any); at most
    :data:`MAX_PROJECTED_ATTRIBUTES` over all indexes, as DynamoDB counts them."""
    total = 0
    for gsi in gsis:
        if (gsi.projection == "INCLUDE") != bool(gsi.non_key_attributes):
            raise TypeError(f"{model.__name__}.Meta index {gsi.name}: non_key_attributes go with (only) INCLUDE")
        for name in gsi.non_key_attributes:
            if name not in model.model_fields:
                raise TypeError(f"{model.__name__}.Meta index {gsi.name} projects {name!r}, which is not a field")
        total += len(set(gsi.non_key_attributes))
    if total > MAX_PROJECTED_ATTRIBUTES:
        raise TypeError(
            f"{model.__name__}.Meta projects {total} attributes (DynamoDB allows {MAX_PROJECTED_ATTRIBUTES})"
        )


def localize_naive_datetimes(data: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    """Read naive datetimes in ``data`` (top level) in the user's timezone; DST gaps/folds raise."""
    return {
        name: localize(value, tz, field=name) if isinstance(value, datetime) else value for name, value in data.items()
    }
