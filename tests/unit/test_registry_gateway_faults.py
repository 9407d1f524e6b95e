"""Gateway retry paths and error mapping, driven by a botocore ``Stubber`` (injected faults).

DynamoDB Local never throttles and never returns unprocessed items, so these paths are tested
with a stubbed client: the real botocore client, with its responses scripted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from airflow_provider_pipeline_registry.registry import (
    AccessDeniedError,
    ConflictError,
    DynamoDBConfig,
    PipelineConfig,
    PipelineConfigWriteApi,
    RegistryConnectionError,
    RegistryError,
    RetryableError,
    TableGateway,
    TableNotFoundError,
    ValidationError,
)
from airflow_provider_pipeline_registry.registry.conditions import not_exists
from airflow_provider_pipeline_registry.registry.errors import redact
from airflow_provider_pipeline_registry.registry.model import extract_model_metadata

CONFIG = DynamoDBConfig(max_attempts=4, endpoint_url="http://127.0.0.1:1")
TABLE = "pipeline_config"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def gateway(client: Any, sleeps: Sleeps) -> TableGateway:
    return TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)


def item(pipeline_id: str) -> dict[str, Any]:
    return {"pipeline_id": {"S": pipeline_id}, "name": {"S": "n"}}


def test_throttling_is_retried_then_succeeds(stubber: Stubber, gateway: TableGateway, sleeps: Sleeps) -> None:
    for _ in range(2):
        stubber.add_client_error("put_item", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error(
        "put_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
    )
    stubber.add_response("put_item", {})
    gateway.put_item(item("p1"))
    assert len(sleeps) == 3
    assert all(0 <= s <= CONFIG.max_backoff_seconds for s in sleeps)


def test_always_throttled_becomes_retryable_error(stubber: Stubber, gateway: TableGateway, sleeps: Sleeps) -> None:
    for _ in range(CONFIG.max_attempts):
        stubber.add_client_error("get_item", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(RetryableError, match="ThrottlingException after 4 attempts") as info:
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert info.value.table == TABLE
    assert info.value.operation == "get_item"
    assert info.value.key == {"pipeline_id": "p1"}
    assert len(sleeps) == CONFIG.max_attempts - 1


def test_access_denied_is_mapped_and_redacted(stubber: Stubber, gateway: TableGateway) -> None:
    stubber.add_client_error(
        "get_item",
        service_error_code="AccessDeniedException",
        service_message="User AKIAIOSFODNN7EXAMPLE is not authorized; Credential=AKIAIOSFODNN7EXAMPLE/20260101/x",
        http_status_code=400,
    )
    with pytest.raises(AccessDeniedError) as info:
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert "AKIAIOSFODNN7EXAMPLE" not in str(info.value)
    assert "AccessDeniedException" in str(info.value)
    assert isinstance(info.value, PermissionError)


def test_missing_table_error_names_the_table_and_the_fix(stubber: Stubber, gateway: TableGateway) -> None:
    stubber.add_client_error(
        "get_item",
        service_error_code="ResourceNotFoundException",
        service_message="Requested resource not found",
        http_status_code=400,
    )
    with pytest.raises(TableNotFoundError) as info:
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    message = str(info.value)
    assert TABLE in message
    assert "create_tables" in message
    assert info.value.table == TABLE


def test_condition_failure_carries_the_stored_item(stubber: Stubber, gateway: TableGateway) -> None:
    stubber.add_client_error(
        "put_item",
        service_error_code="ConditionalCheckFailedException",
        http_status_code=400,
        response_meta={},
        modeled_fields={"Item": {"pipeline_id": {"S": "p1"}, "version": {"N": "3"}}},
    )
    with pytest.raises(ConflictError) as info:
        gateway.put_item(item("p1"), condition=not_exists("pipeline_id"))
    assert info.value.current == {"pipeline_id": "p1", "version": 3}


def test_validation_exception_and_unknown_errors(stubber: Stubber, gateway: TableGateway) -> None:
    stubber.add_client_error("get_item", service_error_code="ValidationException", service_message="bad")
    stubber.add_client_error("get_item", service_error_code="SomethingNew", service_message="odd")
    with pytest.raises(ValidationError, match="DynamoDB rejected the request: bad"):
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    with pytest.raises(RegistryError, match="SomethingNew: odd"):
        gateway.get_item({"pipeline_id": {"S": "p1"}})


def test_unreachable_endpoint_is_a_connection_error(client: Any, sleeps: Sleeps) -> None:
    gateway = TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)

    def refuse(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    client.get_item = refuse
    with pytest.raises(RegistryConnectionError, match=r"cannot reach DynamoDB at http://127\.0\.0\.1:1"):
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert isinstance(RegistryConnectionError("x"), RetryableError)
    assert len(sleeps) == CONFIG.max_attempts - 1


def test_unprocessed_items_are_resent_until_written(stubber: Stubber, gateway: TableGateway, sleeps: Sleeps) -> None:
    items = [item(f"p{i}") for i in range(3)]
    stubber.add_response(
        "batch_write_item",
        {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": items[1]}}, {"PutRequest": {"Item": items[2]}}]}},
        expected_params={"RequestItems": {TABLE: [{"PutRequest": {"Item": i}} for i in items]}},
    )
    stubber.add_response(
        "batch_write_item",
        {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": items[2]}}]}},
        expected_params={"RequestItems": {TABLE: [{"PutRequest": {"Item": i}} for i in items[1:]]}},
    )
    stubber.add_response(
        "batch_write_item",
        {"UnprocessedItems": {}},
        expected_params={"RequestItems": {TABLE: [{"PutRequest": {"Item": items[2]}}]}},
    )
    result = gateway.batch_write(items)
    assert result.written == 3
    assert result.failed == []
    assert len(sleeps) == 2


def test_permanently_unprocessed_items_are_reported_not_dropped(
    stubber: Stubber, gateway: TableGateway, sleeps: Sleeps
) -> None:
    items = [item("ok"), item("stuck")]
    stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": items[1]}}]}})
    for _ in range(CONFIG.max_attempts - 1):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": items[1]}}]}})
    result = gateway.batch_write(items)
    assert result.written == 1
    assert result.failed == [{"key": {"pipeline_id": "stuck"}, "reason": "unprocessed after retries"}]


def test_a_chunk_throttled_past_all_retries_reports_it_and_every_later_item(
    stubber: Stubber, gateway: TableGateway, sleeps: Sleeps
) -> None:
    items = [item(f"p{i:02d}") for i in range(60)]
    stubber.add_response("batch_write_item", {})  # chunk 1: 25 written
    for _ in range(CONFIG.max_attempts):  # chunk 2: throttled until the retries run out
        stubber.add_client_error("batch_write_item", service_error_code="ThrottlingException", http_status_code=400)
    result = gateway.batch_write(items)
    assert result.written == 25
    assert [f["key"]["pipeline_id"] for f in result.failed] == [f"p{i:02d}" for i in range(25, 60)]
    assert all("ThrottlingException" in f["reason"] for f in result.failed)


def test_26_items_are_chunked_25_plus_1(stubber: Stubber, gateway: TableGateway) -> None:
    items = [item(f"p{i:02d}") for i in range(26)]
    stubber.add_response(
        "batch_write_item",
        {},
        expected_params={"RequestItems": {TABLE: [{"PutRequest": {"Item": i}} for i in items[:25]]}},
    )
    stubber.add_response(
        "batch_write_item", {}, expected_params={"RequestItems": {TABLE: [{"PutRequest": {"Item": items[25]}}]}}
    )
    assert gateway.batch_write(items).written == 26


def test_duplicate_keys_in_a_batch_are_refused_before_calling(gateway: TableGateway) -> None:
    with pytest.raises(ValidationError, match="same key twice"):
        gateway.batch_write([item("p"), item("p")])


def test_unprocessed_keys_of_batch_get_are_requested_again(stubber: Stubber, gateway: TableGateway) -> None:
    keys = [{"pipeline_id": {"S": f"p{i}"}} for i in range(2)]
    stubber.add_response(
        "batch_get_item",
        {
            "Responses": {TABLE: [item("p0")]},
            "UnprocessedKeys": {TABLE: {"Keys": [keys[1]]}},
        },
    )
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [item("p1")]}},
        expected_params={"RequestItems": {TABLE: {"Keys": [keys[1]], "ConsistentRead": False}}},
    )
    assert gateway.batch_get(keys) == [item("p0"), item("p1")]


def test_batch_upsert_reports_items_dynamodb_never_took(client: Any, stubber: Stubber, sleeps: Sleeps) -> None:
    gateway = TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)
    api = PipelineConfigWriteApi(CONFIG, gateway=gateway)
    stubber.add_response("batch_get_item", {"Responses": {TABLE: []}})
    for _ in range(CONFIG.max_attempts):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": item("b")}}]}})
    report = api.batch_upsert([{"pipeline_id": "a", "name": "A"}, {"pipeline_id": "b", "name": "B"}])
    assert report.written == ["a"]
    assert report.failed == [{"key": {"pipeline_id": "b"}, "reason": "unprocessed after retries"}]
    assert not report.ok


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key AKIAIOSFODNN7EXAMPLE leaked", "AKIAIOSFODNN7EXAMPLE"),
        ("temp ASIAY34FZKBOKMUTVV7A here", "ASIAY34FZKBOKMUTVV7A"),
        ("Credential=AKIAX/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host", "AKIAX/20260101"),
        ("Signature=0123456789abcdef0123456789abcdef", "0123456789abcdef"),
        ("aws_secret_access_key = 'wJalrXUtnFEMI/K7MDENG'", "wJalrXUtnFEMI"),
        ("X-Amz-Security-Token: FQoGZXIvYXdzEJr", "FQoGZXIvYXdzEJr"),
    ],
)
def test_credentials_are_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)
    error = RegistryError(text, table="t")
    assert secret not in str(error)
    assert secret not in repr(error)
    assert "***" in str(error)


def test_redaction_keeps_ordinary_text() -> None:
    assert redact("table pipeline_config has 3 items") == "table pipeline_config has 3 items"


@pytest.mark.parametrize("operation", ["upsert", "update"])
def test_an_oversized_write_is_refused_before_calling_and_names_the_attribute(
    stubber: Stubber, client: Any, sleeps: Sleeps, operation: str
) -> None:
    api = PipelineConfigWriteApi(
        CONFIG, client, TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)
    )
    blob = {"blob": "x" * 500_000}
    write = {
        "upsert": lambda: api.upsert({"pipeline_id": "big", "name": "n", "parameters": blob}),
        "update": lambda: api.update("big", {"parameters": blob}),
    }[operation]
    with pytest.raises(ValidationError, match="400 KB") as info:
        write()
    assert info.value.field == "parameters"
    # the Stubber has no response queued: any call to DynamoDB would have failed differently
