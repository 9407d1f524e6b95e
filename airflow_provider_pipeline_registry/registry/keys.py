"""Keys, key conditions and page tokens, all derived from a model's ``Meta``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .attributes import AttributeValue, check_key_value, encode_value
from .conditions import KeyCondition, SortOp
from .errors import RegistryValidationError
from .model import RegistryModel, extract_model_metadata


def build_model_key(model: type[RegistryModel], **values: Any) -> dict[str, AttributeValue]:
    """The low-level primary key of ``model`` from keyword values, validated."""
    meta = extract_model_metadata(model)
    key: dict[str, AttributeValue] = {}
    for name in meta.key_names:
        if name not in values or values[name] is None:
            raise RegistryValidationError(f"{name}: key attribute is required", field=name)
        value = values[name]
        if not isinstance(value, str):
            raise RegistryValidationError(f"{name}: key must be a string, got {type(value).__name__}", field=name)
        check_key_value(name, value, is_sort_key=name == meta.sort_key)
        key[name] = encode_value(value, name, as_key_string=True)
    unknown = set(values) - set(meta.key_names)
    if unknown:
        raise RegistryValidationError(
            f"not key attributes of {meta.table}: {sorted(unknown)}", field=sorted(unknown)[0]
        )
    return key


def build_gsi_key_condition(
    model: type[RegistryModel],
    index_name: str,
    partition_value: Any,
    *,
    sort_op: SortOp | None = None,
    sort_values: tuple[Any, ...] = (),
) -> KeyCondition:
    """A Query key condition on the GSI ``index_name`` declared in ``model.Meta``."""
    meta = extract_model_metadata(model)
    gsi = meta.index(index_name)
    check_key_value(gsi.partition_key, partition_value)
    if sort_op is not None and gsi.sort_key is None:
        raise RegistryValidationError(f"index {index_name} has no sort key", field="sort_op")
    expected = 2 if sort_op == "between" else 1
    if sort_op is not None and len(sort_values) != expected:
        raise RegistryValidationError(f"sort operator {sort_op} takes {expected} value(s)", field="sort_values")
    return KeyCondition(
        partition_name=gsi.partition_key,
        partition_value=partition_value,
        sort_name=gsi.sort_key if sort_op else None,
        sort_op=sort_op,
        sort_values=sort_values,
        index_name=index_name,
    )


def encode_page_token(last_evaluated_key: dict[str, AttributeValue] | None, *, scope: str) -> str | None:
    """An opaque, URL-safe token for ``LastEvaluatedKey``, bound to the list it came from."""
    if not last_evaluated_key:
        return None
    payload = json.dumps({"s": scope, "k": last_evaluated_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(token: str | None, *, scope: str) -> dict[str, AttributeValue] | None:
    """Inverse of :func:`encode_page_token`; a malformed or foreign token is a RegistryValidationError."""
    if token is None or token == "":
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        key = payload["k"]
        token_scope = payload["s"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise RegistryValidationError(
            "page_token is malformed (pass back a token this API returned)", field="page_token"
        ) from None
    if token_scope != scope or not isinstance(key, dict):
        raise RegistryValidationError(
            f"page_token belongs to another list ({token_scope!r}, not {scope!r})", field="page_token"
        )
    return key
