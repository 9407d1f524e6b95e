"""Value objects describing conditions, key conditions and updates.

They hold attribute names and Python values only; :mod:`.gateway` compiles them into
expressions with ``ExpressionAttributeNames``/``ExpressionAttributeValues`` placeholders, so no
user string is ever spliced into an expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

CompareOp = Literal["=", "<>", "<", "<=", ">", ">="]
SortOp = Literal["=", "<", "<=", ">", ">=", "between", "begins_with"]


class Condition:
    """Base of condition expressions; combine with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Condition) -> Condition:
        return And((self, other))

    def __or__(self, other: Condition) -> Condition:
        return Or((self, other))

    def __invert__(self) -> Condition:
        return Not(self)


@dataclass(frozen=True)
class AttributeExists(Condition):
    name: str


@dataclass(frozen=True)
class AttributeNotExists(Condition):
    name: str


@dataclass(frozen=True)
class NestedNotExists(Condition):
    """``attribute_not_exists`` of a document path into nested maps (names never split on ".")."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Plus:
    """An update value computed by DynamoDB: the stored number ``name`` plus ``amount`` (as it
    was before the update: every right-hand side reads the item as it was)."""

    name: str
    amount: int


@dataclass(frozen=True)
class Compare(Condition):
    name: str
    op: CompareOp
    value: Any
    as_key_string: bool = False


@dataclass(frozen=True)
class SameAs(Condition):
    """Two stored attributes hold equal values (``#a = #b``)."""

    name: str
    other: str


@dataclass(frozen=True)
class In(Condition):
    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class And(Condition):
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or(Condition):
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not(Condition):
    part: Condition


def exists(name: str) -> Condition:
    return AttributeExists(name)


def not_exists(name: str) -> Condition:
    return AttributeNotExists(name)


def eq(name: str, value: Any) -> Condition:
    return Compare(name, "=", value)


def same_as(name: str, other: str) -> Condition:
    return SameAs(name, other)


def is_in(name: str, values: Sequence[Any]) -> Condition:
    return In(name, tuple(values))


@dataclass(frozen=True)
class KeyCondition:
    """Partition key equality plus an optional sort-key condition, on the table or an index."""

    partition_name: str
    partition_value: Any
    sort_name: str | None = None
    sort_op: SortOp | None = None
    sort_values: tuple[Any, ...] = ()
    index_name: str | None = None


@dataclass(frozen=True)
class Update:
    """An UpdateItem: attributes to SET, to SET only when absent, to REMOVE, numbers to ADD."""

    set: Mapping[str, Any] = field(default_factory=dict)
    set_if_absent: Mapping[str, Any] = field(default_factory=dict)
    remove: Sequence[str] = ()
    add: Mapping[str, int | float] = field(default_factory=dict)
    #: nested map entries to SET, e.g. ``{("metrics", "rows_read"): 10}``; names are never split on ".";
    #: a value may be a :class:`Plus` (computed by DynamoDB)
    set_nested: Mapping[tuple[str, ...], Any] = field(default_factory=dict)
    key_strings: frozenset[str] = frozenset()  # attributes whose booleans are stored as 'true'/'false'
