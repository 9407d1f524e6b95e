"""Per-model compiled encoders and decoders between a model's fields and DynamoDB items.

For each field, the attribute encoder is chosen once from its annotation (``str`` -> ``S``,
``datetime`` -> the fixed-width UTC string, ``int`` -> ``N``, ...). Each one handles the exact
type it was chosen for and hands anything else to the generic :func:`.attributes.encode_value`,
so the output is always what the generic path produces; only the ``isinstance`` chain is skipped.

On the way in, a datetime field's stored fixed-width UTC string is parsed straight into an aware
UTC datetime, every other attribute is decoded as :func:`.attributes.decode_item` does, and
attributes the model does not know are not decoded at all (the model ignores them anyway).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from .attributes import AttributeValue, Item, decode_number, decode_value, encode_value

#: an attribute encoder: the value (never None) -> its AttributeValue, or None to omit it
Encoder = Callable[[Any], AttributeValue | None]

_SAFE_INT_BOUND = 10**38
_fromisoformat = datetime.fromisoformat
_decode_number = decode_number


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``; any other annotation unchanged (a real union stays a union)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _generic(name: str, as_key_string: bool) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


def _str_encoder(name: str, as_key_string: bool) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        if type(value) is str:
            return {"S": value}
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


def _int_encoder(name: str, as_key_string: bool) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        if type(value) is int and -_SAFE_INT_BOUND < value < _SAFE_INT_BOUND:
            return {"N": str(value)}
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


def _bool_encoder(name: str, as_key_string: bool) -> Encoder:
    def encode_key_string(value: Any) -> AttributeValue:
        if value is True:
            return {"S": "true"}
        if value is False:
            return {"S": "false"}
        return encode_value(value, name, as_key_string=True)

    def encode(value: Any) -> AttributeValue:
        if value is True:
            return {"BOOL": True}
        if value is False:
            return {"BOOL": False}
        return encode_value(value, name)

    return encode_key_string if as_key_string else encode


def _datetime_encoder(name: str, as_key_string: bool) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        if type(value) is datetime and value.tzinfo is UTC:
            # what timezones.format_utc returns for a UTC datetime: isoformat ends in "+00:00"
            return {"S": value.isoformat(timespec="microseconds")[:-6] + "Z"}
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


def _str_enum_encoder(name: str, as_key_string: bool, enum_type: type[enum.Enum]) -> Encoder:
    def encode(value: Any) -> AttributeValue:
        if type(value) is enum_type:
            return {"S": value._value_}
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


def _history_encoder(name: str, element: type[BaseModel]) -> Encoder:
    """A list of sub-models that know their stored form (``storage_value``): omitted when empty;
    plain dicts (left by ``model_construct``) are validated as ``element`` first."""
    validate = element.model_validate

    def encode(value: Any) -> AttributeValue | None:
        if not value:
            return None
        maps = [(v if isinstance(v, element) else validate(v)).storage_value() for v in value]  # type: ignore[attr-defined]
        return encode_value(maps, name)

    return encode


def _map_encoder(name: str, as_key_string: bool) -> Encoder:
    """A map of scalars (metrics, options): strings and in-range numbers inline, else generic."""

    def encode(value: Any) -> AttributeValue:
        if type(value) is not dict:
            return encode_value(value, name, as_key_string=as_key_string)
        encoded: dict[str, AttributeValue] = {}
        for key, inner in value.items():
            if type(key) is not str or not key:
                return encode_value(value, name)  # the generic path names the bad key
            kind = type(inner)
            if kind is str:
                encoded[key] = {"S": inner}
            elif kind is int and -_SAFE_INT_BOUND < inner < _SAFE_INT_BOUND:
                encoded[key] = {"N": str(inner)}
            else:
                encoded[key] = encode_value(inner, f"{name}.{key}", depth=1)
        return {"M": encoded}

    return encode


def _string_list_encoder(name: str, as_key_string: bool) -> Encoder:
    """A list of strings: each ``{"S": ...}`` inline; anything else generic."""

    def encode(value: Any) -> AttributeValue:
        if type(value) is list and all(type(v) is str for v in value):
            return {"L": [{"S": v} for v in value]}
        return encode_value(value, name, as_key_string=as_key_string)

    return encode


_SCALARS = (str, int, float, bool)


def _is_scalar_annotation(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(_is_scalar_annotation(a) for a in typing.get_args(annotation))
    return annotation in _SCALARS


def field_encoder(name: str, annotation: Any, *, as_key_string: bool = False) -> Encoder:
    """The encoder of one field, chosen from its annotation."""
    base = _strip_optional(annotation)
    origin = typing.get_origin(base)
    if origin is list:
        (element,) = typing.get_args(base) or (Any,)
        if isinstance(element, type) and issubclass(element, BaseModel) and hasattr(element, "storage_value"):
            return _history_encoder(name, element)
        if typing.get_origin(element) is typing.Annotated:
            element = typing.get_args(element)[0]
        return _string_list_encoder(name, as_key_string) if element is str else _generic(name, as_key_string)
    if origin is dict:
        _, element = typing.get_args(base) or (Any, Any)
        return _map_encoder(name, as_key_string) if _is_scalar_annotation(element) else _generic(name, as_key_string)
    if base is str:
        return _str_encoder(name, as_key_string)
    if base is bool:
        return _bool_encoder(name, as_key_string)
    if base is int:
        return _int_encoder(name, as_key_string)
    if base is datetime:
        return _datetime_encoder(name, as_key_string)
    if isinstance(base, type) and issubclass(base, enum.Enum) and all(isinstance(m.value, str) for m in base):
        return _str_enum_encoder(name, as_key_string, base)
    return _generic(name, as_key_string)


def _parse_stored_datetime(text: str) -> Any:
    """The storage form (``2026-11-25T02:19:04.123456Z``) parsed to an aware UTC datetime;
    any other text is returned as is, for the model's validation to parse or refuse."""
    if len(text) == 27 and text[26] == "Z" and text[10] == "T" and text[19] == "." and text[4] == "-":
        try:
            return _fromisoformat(text)
        except ValueError:
            return text
    return text


def _decode_map(raw: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """A map's values, as :func:`.attributes.decode_value` decodes them (numbers and strings inline)."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if len(value) == 1:
            number = value.get("N")
            if number is not None:
                decoded[key] = int(number) if number.isdigit() else _decode_number(number)
                continue
            text = value.get("S")
            if text is not None:
                decoded[key] = text
                continue
        decoded[key] = decode_value(value)
    return decoded


#: field kinds of the decoder
_PLAIN, _DATETIME = 0, 1


@dataclass(frozen=True)
class ModelCodec:
    """The compiled encoders and decoders of one model's fields."""

    encoders: tuple[tuple[str, Encoder], ...]
    #: field name -> _PLAIN or _DATETIME
    kinds: dict[str, int]

    def encode(self, values: Mapping[str, Any]) -> Item:
        """The item of a model's field values (``None`` and missing fields omitted)."""
        item: Item = {}
        get = values.get
        for name, encode in self.encoders:
            value = get(name)
            if value is not None:
                encoded = encode(value)
                if encoded is not None:
                    item[name] = encoded
        return item

    def decode(self, item: Mapping[str, AttributeValue]) -> dict[str, Any]:
        """The Python values of the attributes the model knows (the others are skipped).

        The same values as :func:`.attributes.decode_item`, except that a datetime field's
        storage string is already parsed; the common attribute types are decoded inline.
        """
        kinds = self.kinds
        decoded: dict[str, Any] = {}
        for name, value in item.items():
            kind = kinds.get(name)
            if kind is None:
                continue
            if len(value) == 1:
                text = value.get("S")
                if text is not None:
                    decoded[name] = _parse_stored_datetime(text) if kind else text
                    continue
                number = value.get("N")
                if number is not None:
                    # digits only: what decode_number returns for it, without its checks
                    decoded[name] = int(number) if number.isdigit() else _decode_number(number)
                    continue
                mapping = value.get("M")
                if mapping is not None:
                    decoded[name] = _decode_map(mapping)
                    continue
            decoded[name] = decode_value(value)
        return decoded


def build_codec(model: type[BaseModel], key_strings: frozenset[str]) -> ModelCodec:
    """Compile the codec of ``model``; booleans named in ``key_strings`` are stored as strings."""
    fields = model.model_fields
    encoders = tuple(
        (name, field_encoder(name, info.annotation, as_key_string=name in key_strings)) for name, info in fields.items()
    )
    kinds = {
        name: _DATETIME if _strip_optional(info.annotation) is datetime else _PLAIN for name, info in fields.items()
    }
    return ModelCodec(encoders, kinds)
