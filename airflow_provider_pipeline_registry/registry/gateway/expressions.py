"""Expression building: conditions, key conditions, updates and projections compiled to
DynamoDB's expression syntax, always through ``ExpressionAttributeNames``/``ExpressionAttributeValues``
placeholders, so no user string is ever spliced into an expression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..attributes import AttributeValue, encode_value
from ..conditions import (
    And,
    AttributeExists,
    AttributeNotExists,
    Compare,
    Condition,
    In,
    KeyCondition,
    NestedNotExists,
    Not,
    Or,
    Plus,
    SameAs,
    Update,
)
from ..errors import RegistryValidationError


class _Expressions:
    """Collects ``#n``/``:v`` placeholders while compiling conditions and updates."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValue] = {}
        #: the attribute path each value placeholder stands for (for size checks and errors)
        self.paths: dict[str, str] = {}
        self._name_ids: dict[str, str] = {}

    def name(self, attribute: str) -> str:
        """A placeholder for one top-level attribute name (a "." in it is part of the name)."""
        if attribute not in self._name_ids:
            placeholder = f"#n{len(self._name_ids)}"
            self._name_ids[attribute] = placeholder
            self.names[placeholder] = attribute
        return self._name_ids[attribute]

    def path(self, segments: tuple[str, ...]) -> str:
        """A document path into nested maps, each segment through its own placeholder."""
        return ".".join(self.name(segment) for segment in segments)

    def value(self, value: Any, path: str, as_key_string: bool = False) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = encode_value(value, path, as_key_string=as_key_string)
        self.paths[placeholder] = path
        return placeholder

    def condition(self, cond: Condition) -> str:
        if isinstance(cond, AttributeExists):
            return f"attribute_exists({self.name(cond.name)})"
        if isinstance(cond, AttributeNotExists):
            return f"attribute_not_exists({self.name(cond.name)})"
        if isinstance(cond, NestedNotExists):
            return f"attribute_not_exists({self.path(cond.path)})"
        if isinstance(cond, Compare):
            return f"{self.name(cond.name)} {cond.op} {self.value(cond.value, cond.name, cond.as_key_string)}"
        if isinstance(cond, SameAs):
            return f"{self.name(cond.name)} = {self.name(cond.other)}"
        if isinstance(cond, In):
            if not cond.values:
                raise RegistryValidationError(f"{cond.name}: IN needs at least one value", field=cond.name)
            placeholders = ", ".join(self.value(v, cond.name) for v in cond.values)
            return f"{self.name(cond.name)} IN ({placeholders})"
        if isinstance(cond, And):
            return "(" + " AND ".join(self.condition(p) for p in cond.parts) + ")"
        if isinstance(cond, Or):
            return "(" + " OR ".join(self.condition(p) for p in cond.parts) + ")"
        if isinstance(cond, Not):
            return f"(NOT {self.condition(cond.part)})"
        raise TypeError(f"unknown condition {cond!r}")

    def key_condition(self, kc: KeyCondition) -> str:
        text = f"{self.name(kc.partition_name)} = {self.value(kc.partition_value, kc.partition_name, True)}"
        if kc.sort_name and kc.sort_op:
            name = self.name(kc.sort_name)
            vals = [self.value(v, kc.sort_name, True) for v in kc.sort_values]
            if kc.sort_op == "between":
                text += f" AND {name} BETWEEN {vals[0]} AND {vals[1]}"
            elif kc.sort_op == "begins_with":
                text += f" AND begins_with({name}, {vals[0]})"
            else:
                text += f" AND {name} {kc.sort_op} {vals[0]}"
        return text

    def update(self, update: Update) -> str:
        clauses = []
        sets = [f"{self.name(k)} = {self.value(v, k, k in update.key_strings)}" for k, v in update.set.items()]
        sets += [
            f"{self.name(k)} = if_not_exists({self.name(k)}, {self.value(v, k, k in update.key_strings)})"
            for k, v in update.set_if_absent.items()
        ]
        sets += [f"{self.path(path)} = {self.operand(v, '.'.join(path))}" for path, v in update.set_nested.items()]
        if sets:
            clauses.append("SET " + ", ".join(sets))
        if update.add:
            clauses.append("ADD " + ", ".join(f"{self.name(k)} {self.value(v, k)}" for k, v in update.add.items()))
        if update.remove:
            clauses.append("REMOVE " + ", ".join(self.name(k) for k in update.remove))
        if not clauses:
            raise RegistryValidationError("an update must change at least one attribute", field="update")
        return " ".join(clauses)

    def operand(self, value: Any, path: str) -> str:
        """A SET right-hand side: a value, or a :class:`Plus` computed from the stored item."""
        if isinstance(value, Plus):
            return f"{self.name(value.name)} + {self.value(value.amount, value.name)}"
        return self.value(value, path)

    def projection(self, attributes: Sequence[str]) -> str:
        return ", ".join(self.name(a) for a in attributes)

    def apply(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            params["ExpressionAttributeNames"] = self.names
        if self.values:
            params["ExpressionAttributeValues"] = self.values
        return params
