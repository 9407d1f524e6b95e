"""Messages for people: no pydantic wording, no internal field paths."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

# pydantic prefixes the message of a ValueError/AssertionError raised in a validator
_PYDANTIC_PREFIX = re.compile(r"\b(?:Value error|Assertion failed), ")


def clean_message(message: str) -> str:
    """``message`` without pydantic's ``Value error, `` / ``Assertion failed, `` prefixes."""
    return _PYDANTIC_PREFIX.sub("", message)


def field_path(field: str, mapping_fields: Sequence[str] = ()) -> str:
    """A field path as a person writes it: ``tags[0]``, ``spark_conf["spark.executor.cores"]``.

    ``field`` is the dotted path the registry reports (``tags.0``); the rest of the path under a
    field listed in ``mapping_fields`` is one key (keys such as Spark settings contain dots).
    """
    parts = field.split(".")
    head, rest = parts[0], parts[1:]
    if not rest:
        return head
    if head in mapping_fields:
        return f"{head}[{'.'.join(rest)!r}]"
    out = head
    for part in rest:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def raw_value(data: Mapping[str, Any], field: str, mapping_fields: Sequence[str] = ()) -> tuple[bool, Any]:
    """``(found, value)``: the value at the registry's dotted ``field`` path in the raw input."""
    parts = field.split(".")
    if parts[0] in mapping_fields and len(parts) > 1:
        parts = [parts[0], ".".join(parts[1:])]
    value: Any = data
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


def yaml_type_hint(value: Any) -> str | None:
    """A hint when YAML turned an unquoted value into a number, a boolean or a date."""
    if isinstance(value, bool):
        kind = "a boolean"
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        kind = "a number"
        text = str(value)
    elif isinstance(value, datetime):
        kind = "a datetime"
        text = value.isoformat(sep=" ")
    elif isinstance(value, date):
        kind = "a date"
        text = value.isoformat()
    else:
        return None
    return f"the file gives {kind} ({text}); if you mean text, quote the value: '{text}'"
