"""Annotated field types shared by the domain models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, JsonValue, StringConstraints

#: An id used as a DynamoDB key: 1-255 characters, no whitespace or control characters.
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]*$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Text = Annotated[str, StringConstraints(max_length=64 * 1024)]
Tags = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=256)]], Field(max_length=100)]
StringMap = dict[Annotated[str, StringConstraints(min_length=1, max_length=1024)], str]
JsonMap = dict[str, JsonValue]
Metrics = dict[Annotated[str, StringConstraints(min_length=1, max_length=255)], int | float]


def json_map_default() -> dict[str, Any]:
    return {}
