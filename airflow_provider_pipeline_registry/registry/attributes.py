"""Conversion between Python values and DynamoDB's low-level ``AttributeValue`` form.

Also enforces the limits DynamoDB Local and moto do not: 32 levels of nesting, 400 KB items,
non-empty key strings, finite numbers, numbers within DynamoDB's 38 digits of precision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from .errors import RegistryValidationError
from .timezones import format_utc

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

#: DynamoDB allows 32 levels: the top-level attribute is level 1, so a map or list may sit at
#: level 31 at most (its scalar values being level 32). DynamoDB Local enforces exactly this.
MAX_NESTING_DEPTH = 32
MAX_ITEM_BYTES = 400 * 1024
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_MAX_NUMBER_DIGITS = 38
#: DynamoDB's number range: magnitudes from 1E-130 to 9.99...E+125
_MAX_EXPONENT = 125
_MIN_EXPONENT = -130
#: any int strictly inside +-10**38 has at most 38 digits and an exponent within DynamoDB's range
_SAFE_INT_BOUND = 10**38
#: a float strictly between these magnitudes has an exponent well inside DynamoDB's range
_SAFE_FLOAT_LOW = 1e-129
_SAFE_FLOAT_HIGH = 1e125


def _number_text(value: int | float | Decimal, path: str) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RegistryValidationError(
                f"{path}: {value!r} is not a finite number (DynamoDB rejects NaN and infinity)", field=path
            )
        text = repr(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise RegistryValidationError(
                f"{path}: {value!r} is not a finite number (DynamoDB rejects NaN and infinity)", field=path
            )
        text = str(value)
    else:
        text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - int/float/Decimal always parse
        raise RegistryValidationError(f"{path}: {value!r} is not a number", field=path) from exc
    # significant digits, counted exactly (Decimal.normalize() would round to the context's 28)
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > _MAX_NUMBER_DIGITS:
        raise RegistryValidationError(f"{path}: {value!r} has more than 38 significant digits", field=path)
    if number != 0 and not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise RegistryValidationError(
            f"{path}: {value!r} is outside DynamoDB's number range (1E-130 to 9.9E+125 in magnitude)", field=path
        )
    return text


def _check_container_depth(path: str, depth: int) -> None:
    # ``depth`` is 0 for a top-level attribute; a container there is level 1.
    if depth + 1 >= MAX_NESTING_DEPTH:
        raise RegistryValidationError(
            f"{path}: nesting deeper than {MAX_NESTING_DEPTH} levels (DynamoDB's limit)", field=path
        )


def encode_value(value: Any, path: str, *, as_key_string: bool = False, depth: int = 0) -> AttributeValue:
    """Encode one Python value; ``as_key_string`` stores booleans as ``'true'``/``'false'``."""
    # fast paths for the commonest exact types; the general checks below give the same result
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_SAFE_INT_BOUND < value < _SAFE_INT_BOUND:
        return {"N": str(value)}  # at most 38 digits, inside DynamoDB's range: nothing to check
    if kind is float and (value == 0.0 or _SAFE_FLOAT_LOW < abs(value) < _SAFE_FLOAT_HIGH):
        return {"N": repr(value)}  # finite, at most 17 digits, inside DynamoDB's range
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        if as_key_string:
            return {"S": "true" if value else "false"}
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number_text(value, path)}
    if isinstance(value, datetime):
        return {"S": format_utc(value, field=path)}
    if isinstance(value, date):
        return {"S": value.isoformat()}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        _check_container_depth(path, depth)
        encoded: dict[str, AttributeValue] = {}
        for key, inner in value.items():
            if not isinstance(key, str):
                raise RegistryValidationError(f"{path}: map keys must be strings, got {key!r}", field=path)
            if not key:
                raise RegistryValidationError(f"{path}: map keys must not be empty (DynamoDB rejects them)", field=path)
            encoded[key] = encode_value(inner, f"{path}.{key}", depth=depth + 1)
        return {"M": encoded}
    if isinstance(value, list | tuple):
        _check_container_depth(path, depth)
        return {"L": [encode_value(v, f"{path}[{i}]", depth=depth + 1) for i, v in enumerate(value)]}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, set | frozenset):
        if value and all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        raise RegistryValidationError(f"{path}: only non-empty sets of strings can be stored", field=path)
    raise RegistryValidationError(f"{path}: values of type {type(value).__name__} cannot be stored", field=path)


def decode_number(text: str) -> int | float | Decimal:
    """``int`` when integral, ``float`` when that is exact, ``Decimal`` otherwise (no value lost)."""
    if "." not in text and "e" not in text and "E" not in text:
        return int(text)
    as_float = float(text)
    if repr(as_float) == text or Decimal(repr(as_float)) == Decimal(text):  # the first test is a fast path
        return as_float
    exact = Decimal(text)
    return int(exact) if exact == exact.to_integral_value() and abs(exact) < 10**38 else exact


def decode_value(value: AttributeValue) -> Any:
    """Decode one low-level attribute value into plain Python."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return decode_number(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "M":
        return {k: decode_value(v) for k, v in raw.items()}
    if kind == "L":
        return [decode_value(v) for v in raw]
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(raw)
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {decode_number(v) for v in raw}
    if kind == "BS":
        return {bytes(v) for v in raw}
    raise RegistryValidationError(f"unknown DynamoDB attribute type {kind!r}")


def decode_item(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    """Decode a whole low-level item (strings, the common case, without a function call)."""
    decoded: dict[str, Any] = {}
    for name, value in item.items():
        text = value.get("S")
        decoded[name] = text if text is not None and len(value) == 1 else decode_value(value)
    return decoded


def _value_size(value: AttributeValue) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "B":
        return len(raw)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in raw)
    return sum(len(str(v)) for v in raw)


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """Size of an item as DynamoDB counts it (attribute names plus values), in bytes."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def check_item_size(item: Mapping[str, AttributeValue], *, what: str = "item") -> None:
    """Raise RegistryValidationError if the item exceeds DynamoDB's 400 KB limit."""
    # fast path: no attribute name or value counts more than 4 bytes (UTF-8) per character of
    # its repr, so an item whose repr is under a quarter of the limit is certainly within it
    if len(repr(item)) * 4 < MAX_ITEM_BYTES:
        return
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        largest = max(item, key=lambda name: _value_size(item[name]))
        raise RegistryValidationError(
            f"{what} is {size} bytes, over DynamoDB's 400 KB item limit (largest attribute: {largest})",
            field=largest,
        )


def check_key_value(name: str, value: Any, *, is_sort_key: bool = False) -> None:
    """Key strings must be non-empty and within DynamoDB's key size limits."""
    if isinstance(value, str):
        limit = MAX_SORT_KEY_BYTES if is_sort_key else MAX_PARTITION_KEY_BYTES
        size = len(value.encode("utf-8"))
        if size == 0:
            raise RegistryValidationError(f"{name}: a key attribute must not be empty", field=name)
        if size > limit:
            raise RegistryValidationError(
                f"{name}: key is {size} bytes, over DynamoDB's {limit}-byte limit", field=name
            )
