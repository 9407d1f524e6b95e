"""Watermark values: declared type, canonical text, order.

A table's watermark is a ``timestamp``, an ``integer`` or an opaque ``string``
(``TableConfig.watermark_type``). Values travel and are stored as canonical text, so that the
same value always has the same text (a commit is conditional on it, and a replayed write
recognises itself by it):

* ``timestamp``: the storage contract's fixed-width UTC ISO-8601 (``2026-11-25T02:19:04.123456Z``);
  a naive datetime or an ISO text without offset is refused (the job must say which zone);
* ``integer``: decimal digits with an optional ``-`` (``int``, or a text of one; no floats);
* ``string``: the text as given (1 to 1024 characters), ordered by code point.

:func:`is_backwards` compares by the declared type (``"9" < "10"`` as integers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import RegistryValidationError, WatermarkBackwardsError
from ..timezones import format_utc

MAX_WATERMARK_CHARS = 1024
_INTEGER = re.compile(r"^-?[0-9]{1,38}$")


class WatermarkType(StrEnum):
    """How a table's watermark is typed and ordered (declared on the table config)."""

    TIMESTAMP = "timestamp"
    INTEGER = "integer"
    STRING = "string"


def normalize_watermark(value: Any, kind: WatermarkType | str, *, table_id: str = "?") -> str:
    """``value`` as the canonical text of a ``kind`` watermark; RegistryValidationError naming the table."""
    kind = WatermarkType(kind)
    field = f"watermarks.{table_id}"
    if value is None:
        raise RegistryValidationError(
            f"watermark of table {table_id!r}: None is not a value to advance to", field=field
        )
    if kind is WatermarkType.TIMESTAMP:
        moment = value
        if isinstance(value, str):
            text = value.strip()
            try:
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            except ValueError:
                raise RegistryValidationError(
                    f"watermark of table {table_id!r} is a timestamp: {value!r} is not ISO-8601", field=field
                ) from None
        if not isinstance(moment, datetime):
            raise RegistryValidationError(
                f"watermark of table {table_id!r} is a timestamp: got {type(value).__name__} {value!r}", field=field
            )
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise RegistryValidationError(
                f"watermark of table {table_id!r}: {value!r} has no timezone (give UTC, e.g. '...Z')", field=field
            )
        return format_utc(moment, field=field)
    if kind is WatermarkType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise RegistryValidationError(
                f"watermark of table {table_id!r} is an integer: got {type(value).__name__} {value!r}", field=field
            )
        text = str(value).strip()
        if not _INTEGER.match(text):
            raise RegistryValidationError(f"watermark of table {table_id!r} is an integer: got {value!r}", field=field)
        return str(int(text))
    if not isinstance(value, str) or not value or len(value) > MAX_WATERMARK_CHARS:
        raise RegistryValidationError(
            f"watermark of table {table_id!r} is a string of 1 to {MAX_WATERMARK_CHARS} characters, got {value!r}",
            field=field,
        )
    return value


def watermark_order_key(text: str, kind: WatermarkType | str) -> Any:
    """What canonical watermark texts of ``kind`` sort by."""
    return int(text) if WatermarkType(kind) is WatermarkType.INTEGER else text


def is_backwards(low: str | None, new: str, kind: WatermarkType | str) -> bool:
    """``new`` is below ``low`` (None: no low bound yet, nothing is backwards)."""
    return low is not None and watermark_order_key(new, kind) < watermark_order_key(low, kind)


def checked_advance(read: Mapping[str, Any], table_id: str, value: Any) -> str:
    """``value`` as the canonical new high bound of ``table_id``, whose watermark a run read as
    ``read`` (``{"from": low, "type": kind}``); :class:`WatermarkBackwardsError` below ``low``."""
    kind = read.get("type") or "string"
    text = normalize_watermark(value, kind, table_id=table_id)
    low = read.get("from")
    if is_backwards(low, text, kind):
        raise WatermarkBackwardsError(
            f"watermark of table {table_id!r} cannot go back from {low!r} to {text!r} ({kind}); "
            "only rewind_watermark moves it back",
            field=f"watermarks.{table_id}",
        )
    return text
