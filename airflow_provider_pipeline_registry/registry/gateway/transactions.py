"""One ``TransactWriteItems`` over several registry tables (a run's end with its watermarks).

The call itself is made by the first action's :meth:`TableGateway.call` (the one call site: error
mapping, botocore retries) with expressions compiled by :mod:`.expressions`, so no user string is
ever spliced into an expression. ``ClientRequestToken`` makes a transaction that
botocore re-sends after a lost response idempotent on DynamoDB (for 10 minutes); callers still
recognise their own applied write on the stored items, for implementations that ignore the token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..attributes import Item, check_item_size, decode_item
from ..conditions import Condition, Update
from ..errors import RegistryValidationError, TableNotFoundError
from .data_plane import _TRANSACT_CODES, TRANSACT_LIMIT, TableGateway
from .expressions import _Expressions


@dataclass(frozen=True)
class TransactAction:
    """One action: an ``Update`` (``update``), a ``Put`` (``item``) or a ``ConditionCheck``
    (neither), on ``key`` of ``gateway``'s table, under ``condition``."""

    gateway: TableGateway
    key: Item
    update: Update | None = None
    item: Item | None = None
    condition: Condition | None = None


@dataclass
class TransactOutcome:
    """Applied (all actions), or cancelled with each action's reason code (``"None"`` for an action
    that was not the cause) and the stored item DynamoDB returned for it (decoded), if any."""

    applied: bool
    reasons: list[tuple[str, dict[str, Any] | None]]
    supported: bool = True


def transact_write(actions: Sequence[TransactAction], *, token: str) -> TransactOutcome:
    """Write ``actions`` in one transaction with ``ClientRequestToken=token``."""
    if not actions:
        raise RegistryValidationError("a transaction needs at least one action", field="actions")
    if len(actions) > TRANSACT_LIMIT:
        raise RegistryValidationError(
            f"a transaction takes at most {TRANSACT_LIMIT} actions, got {len(actions)}", field="actions"
        )
    wire: list[dict[str, Any]] = []
    for action in actions:
        table = action.gateway.table_name
        expr = _Expressions()
        body: dict[str, Any] = {"TableName": table}
        if action.item is not None:
            check_item_size(action.item, what=f"item for {table}")
            body["Item"] = action.item
            kind = "Put"
        else:
            body["Key"] = action.key
            kind = "Update" if action.update is not None else "ConditionCheck"
            if action.update is not None:
                body["UpdateExpression"] = expr.update(action.update)
        if action.condition is not None:
            body["ConditionExpression"] = expr.condition(action.condition)
            body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        elif kind == "ConditionCheck":
            raise RegistryValidationError("a condition check needs a condition", field="condition")
        wire.append({kind: expr.apply(body)})
    gateway = actions[0].gateway
    try:
        gateway.call(
            "transact_write_items",
            actions[0].key,
            unmapped=_TRANSACT_CODES,
            TransactItems=wire,
            ClientRequestToken=token,
        )
    except TableNotFoundError as exc:
        names = sorted({action.gateway.table_name for action in actions})
        raise TableNotFoundError(
            f"a table of the transaction does not exist (one of {', '.join(names)}): create them with "
            "create_tables(config) or `pipeline-registry tables create`",
            operation="transact_write_items",
            aws_error_code=exc.aws_error_code,
            aws_request_id=exc.aws_request_id,
        ) from exc.__cause__
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "UnknownOperationException":
            return TransactOutcome(applied=False, reasons=[], supported=False)
        raw: list[Any] = list(exc.response.get("CancellationReasons") or [{}] * len(actions))
        reasons = [
            (str(r.get("Code", "None")), decode_item(r["Item"]) if isinstance(r.get("Item"), dict) else None)
            for r in raw
        ]
        return TransactOutcome(applied=False, reasons=reasons)
    return TransactOutcome(applied=True, reasons=[])
