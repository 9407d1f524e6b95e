"""The data plane: every item operation on one table (get, put, update, delete, transactions,
queries and scans with their pagination, batches) through :class:`TableGateway`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ..attributes import AttributeValue, Item, check_item_size
from ..conditions import Condition, KeyCondition, Update
from ..config import DynamoDBConfig, LogicalTable
from ..errors import ConflictError, RegistryValidationError, aws_provenance
from ..model import RegistryModel, extract_model_metadata
from .batches import BatchOperations
from .client import DynamoDBClient, create_dynamodb_client
from .expressions import _Expressions


@dataclass
class Page:
    """One page of a Query or Scan: decoded-later raw items and the key to resume from."""

    items: list[Item]
    last_evaluated_key: dict[str, AttributeValue] | None


#: the most actions DynamoDB takes in one TransactWriteItems (and its total request size)
TRANSACT_LIMIT = 100
TRANSACT_BYTES = 4 * 1024 * 1024
_TRANSACT_CODES = frozenset({"TransactionCanceledException", "UnknownOperationException"})


@dataclass
class TransactResult:
    """What one TransactWriteItems did: applied (all), or not, with each action's reason."""

    applied: bool
    supported: bool = True
    reasons: list[tuple[str, Item | None]] = field(default_factory=list)


class TableGateway(BatchOperations):
    """Every DynamoDB call on one table goes through an instance of this class.

    Its single call site and error mapping are :class:`~.calls.TableCallSite`'s, its batch reads
    and writes :class:`~.batches.BatchOperations`'; the item operations and queries are here."""

    def __repr__(self) -> str:
        return f"TableGateway(table={self.table_name!r})"

    def _conditional(self, operation: str, key: dict[str, AttributeValue], params: dict[str, Any]) -> dict[str, Any]:
        """A conditional write. A failed condition without the stored item (implementations that
        ignore ``ReturnValuesOnConditionCheckFailure``, or no item) is confirmed with ONE consistent
        read: the ConflictError carries what is stored (``current``), None only if nothing is."""
        try:
            return self.call(operation, key, **params)
        except ConflictError as exc:
            if exc.current is not None:
                raise
            found = self.get_item(key, consistent=True)
            raise ConflictError(
                exc.message,
                current=self._stored(found, operation) if found else None,
                operation=operation,
                table=self.table_name,
                key=self._plain_key(key),
                **aws_provenance(exc),
            ) from exc.__cause__

    # -- single items --------------------------------------------------------------------------
    def get_item(
        self,
        key: dict[str, AttributeValue],
        *,
        consistent: bool = False,
        projection: Sequence[str] | None = None,
    ) -> Item | None:
        params: dict[str, Any] = {"TableName": self.table_name, "Key": key, "ConsistentRead": consistent}
        expr = _Expressions()
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        response = self.call("get_item", key, **expr.apply(params))
        return response.get("Item")

    def put_item(self, item: Item, *, condition: Condition | None = None) -> None:
        """Put a whole item; a failed ``condition`` raises ConflictError with the stored item."""
        check_item_size(item, what=f"item for {self.table_name}")
        params: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        expr = _Expressions()
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        key = {k: item[k] for k in self.metadata.key_names}
        if condition is None:
            self.call("put_item", key, **expr.apply(params))
        else:
            self._conditional("put_item", key, expr.apply(params))

    def update_item(
        self, key: dict[str, AttributeValue], update: Update, *, condition: Condition | None = None
    ) -> Item:
        """Apply ``update``; returns the item as stored afterwards (ALL_NEW)."""
        expr = _Expressions()
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": key,
            "UpdateExpression": expr.update(update),
            "ReturnValues": "ALL_NEW",
        }
        # the values the update writes, by attribute, so an oversized one is named in the error
        written = {expr.paths[p]: v for p, v in expr.values.items()}
        check_item_size({**key, **written}, what=f"update of {self.table_name}")
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if condition is None:
            response = self.call("update_item", key, **expr.apply(params))
        else:
            response = self._conditional("update_item", key, expr.apply(params))
        return response.get("Attributes", {})  # type: ignore[no-any-return]

    def delete_item(self, key: dict[str, AttributeValue], *, condition: Condition | None = None) -> Item | None:
        """Delete; returns the deleted item (None if there was none)."""
        expr = _Expressions()
        params: dict[str, Any] = {"TableName": self.table_name, "Key": key, "ReturnValues": "ALL_OLD"}
        if condition is not None:
            params["ConditionExpression"] = expr.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if condition is None:
            response = self.call("delete_item", key, **expr.apply(params))
        else:
            response = self._conditional("delete_item", key, expr.apply(params))
        return response.get("Attributes")

    def transact_put(self, puts: Sequence[tuple[Item, Condition | None]]) -> TransactResult:
        """One ``TransactWriteItems`` of conditional puts on this table: all applied, or none.

        Not applied: per put, DynamoDB's cancellation reason code (``"None"`` for a put that was
        not the cause) and the stored item when it returned one. An implementation without
        transactions (dynalite) gives ``supported=False``. At most ``TRANSACT_LIMIT`` puts."""
        if len(puts) > TRANSACT_LIMIT:
            raise RegistryValidationError(
                f"a transaction takes at most {TRANSACT_LIMIT} items, got {len(puts)}", field="items"
            )
        actions: list[dict[str, Any]] = []
        for item, condition in puts:
            check_item_size(item, what=f"item for {self.table_name}")
            put: dict[str, Any] = {"TableName": self.table_name, "Item": item}
            if condition is not None:
                expr = _Expressions()
                put["ConditionExpression"] = expr.condition(condition)
                put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
                expr.apply(put)
            actions.append({"Put": put})
        try:
            self.call("transact_write_items", unmapped=_TRANSACT_CODES, TransactItems=actions)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "UnknownOperationException":
                return TransactResult(applied=False, supported=False)
            reasons: list[Any] = list(exc.response.get("CancellationReasons") or [{}] * len(puts))
            return TransactResult(applied=False, reasons=[(str(r.get("Code", "None")), r.get("Item")) for r in reasons])
        return TransactResult(applied=True)

    # -- queries -------------------------------------------------------------------------------
    def query(
        self,
        key_condition: KeyCondition,
        *,
        limit: int | None = None,
        start_key: dict[str, AttributeValue] | None = None,
        newest_first: bool = False,
        consistent: bool = False,
        projection: Sequence[str] | None = None,
        filter_condition: Condition | None = None,
    ) -> Page:
        """One page of results; follows DynamoDB's 1 MB pages until ``limit`` items are collected."""
        if consistent and key_condition.index_name:
            raise RegistryValidationError("a global secondary index cannot be read consistently", field="consistent")
        expr = _Expressions()
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expr.key_condition(key_condition),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": consistent,
        }
        if key_condition.index_name:
            params["IndexName"] = key_condition.index_name
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        if filter_condition is not None:
            params["FilterExpression"] = expr.condition(filter_condition)
        return self._collect("query", expr.apply(params), limit, start_key)

    def scan(
        self,
        *,
        limit: int | None = None,
        start_key: dict[str, AttributeValue] | None = None,
        filter_condition: Condition | None = None,
        projection: Sequence[str] | None = None,
    ) -> Page:
        expr = _Expressions()
        params: dict[str, Any] = {"TableName": self.table_name}
        if filter_condition is not None:
            params["FilterExpression"] = expr.condition(filter_condition)
        if projection:
            params["ProjectionExpression"] = expr.projection(projection)
        return self._collect("scan", expr.apply(params), limit, start_key)

    def _collect(
        self,
        operation: str,
        params: dict[str, Any],
        limit: int | None,
        start_key: dict[str, AttributeValue] | None,
    ) -> Page:
        if limit is not None and limit < 1:
            raise RegistryValidationError(f"limit must be at least 1, got {limit}", field="limit")
        items: list[Item] = []
        last_key = start_key
        while True:
            call_params = dict(params)
            if last_key:
                call_params["ExclusiveStartKey"] = last_key
            if limit is not None:
                call_params["Limit"] = limit - len(items)
            response = self.call(operation, **call_params)
            items.extend(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key or (limit is not None and len(items) >= limit):
                return Page(items=items, last_evaluated_key=last_key)

    def iterate(self, fetch_page: Callable[[dict[str, AttributeValue] | None], Page]) -> Iterator[Item]:
        """Walk every page produced by ``fetch_page(start_key)``."""
        start_key: dict[str, AttributeValue] | None = None
        while True:
            page = fetch_page(start_key)
            yield from page.items
            if not page.last_evaluated_key:
                return
            start_key = page.last_evaluated_key

    # -- batches -------------------------------------------------------------------------------


def create_table_gateway(
    config: DynamoDBConfig,
    table: LogicalTable | type[RegistryModel],
    client: DynamoDBClient | None = None,
) -> TableGateway:
    """A gateway for a logical table (``"pipeline_config"``...) or a model class."""
    from ..schema import model_for_table

    model = model_for_table(table) if isinstance(table, str) else table
    metadata = extract_model_metadata(model)
    return TableGateway(client or create_dynamodb_client(config), config.table_name(metadata.table), metadata, config)
