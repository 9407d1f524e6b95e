"""Gateway retry paths and error mapping on a real botocore client.

Transport retries are botocore's (standard/adaptive mode), so they are driven at the HTTP layer:
a ``before-send`` hook answers each attempt with a scripted HTTP response (or fault), and botocore's
own retry handler decides. A ``Stubber`` answers before botocore's retry handler, so it is used
only for mapping and for the gateway's own loops (unprocessed items and keys).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
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
from airflow_provider_pipeline_registry.registry.conditions import Update, exists, not_exists
from airflow_provider_pipeline_registry.registry.errors import CorruptItemError, redact
from airflow_provider_pipeline_registry.registry.gateway import botocore_config, create_dynamodb_client
from airflow_provider_pipeline_registry.registry.model import extract_model_metadata

#: batch_concurrency=1: a Stubber answers calls in the scripted order, so chunks go one after the
#: other here (the parallel chunks are tested on real servers: tests/integration/test_registry_batch_parallel.py)
CONFIG = DynamoDBConfig(max_attempts=4, endpoint_url="http://127.0.0.1:1", batch_concurrency=1)
TABLE = "pipeline_config"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.payload


def http(status: int, body: bytes | dict[str, Any] = b"{}", **headers: str) -> AWSResponse:
    payload = json.dumps(body).encode() if isinstance(body, dict) else body
    all_headers = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": str(len(payload))}
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return AWSResponse("http://127.0.0.1:1/", status, all_headers, _Body(payload))


def dynamodb_error(status: int, code: str) -> AWSResponse:
    return http(status, {"__type": _PREFIX + code, "message": f"injected {code}"})


PROXY_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
PROXY_504 = b"<html><body><h1>504 Gateway Time-out</h1>The server didn't respond in time.</body></html>"


class HttpScript:
    """Answers each HTTP attempt of ``client`` with the next scripted response (or raises it)."""

    def __init__(self, client: Any, *answers: AWSResponse | Exception) -> None:
        self.answers = list(answers)
        self.attempts = 0
        client.meta.events.register("before-send.dynamodb", self, unique_id="test-http-script")

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.attempts += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def client() -> Any:
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=botocore_config(CONFIG),
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


def stored(pipeline_id: str, version: int = 3) -> dict[str, Any]:
    """A complete stored pipeline config item."""
    return {
        "pipeline_id": {"S": pipeline_id},
        "name": {"S": "n"},
        "is_active": {"S": "true"},
        "version": {"N": str(version)},
        "created_at": {"S": "2026-01-01T00:00:00.000000Z"},
        "updated_at": {"S": "2026-01-01T00:00:00.000000Z"},
    }


# -- transport retries: botocore's, at the HTTP layer ---------------------------------------------
def test_the_registry_client_uses_botocore_retries_from_the_config() -> None:
    assert botocore_config(CONFIG).retries == {"mode": "standard", "total_max_attempts": 4}
    adaptive = DynamoDBConfig.from_env({"DYNAMODB_RETRY_MODE": "adaptive", "DYNAMODB_MAX_ATTEMPTS": "7"})
    assert (adaptive.retry_mode, adaptive.max_attempts) == ("adaptive", 7)
    client = create_dynamodb_client(adaptive)
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (5.0, 30.0)


def test_throttling_is_retried_by_botocore_then_succeeds(client: Any, gateway: TableGateway) -> None:
    script = HttpScript(
        client,
        dynamodb_error(400, "ThrottlingException"),
        dynamodb_error(400, "ProvisionedThroughputExceededException"),
        http(200),
    )
    gateway.put_item(item("p1"))
    assert script.attempts == 3


@pytest.mark.parametrize(
    "fault",
    [
        http(502, PROXY_502, Content_Type="text/html"),
        http(504, PROXY_504, Content_Type="text/html"),
        http(503, b""),
        http(500, b""),
        http(429, b"", Content_Type="text/plain"),
        dynamodb_error(500, "InternalServerError"),
        dynamodb_error(400, "RequestLimitExceeded"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=[
        "proxy-502",
        "proxy-504",
        "bare-503",
        "bare-500",
        "429",
        "InternalServerError",
        "RequestLimitExceeded",
        "read-timeout",
    ],
)
def test_transient_faults_with_or_without_an_error_code_are_retried(
    client: Any, gateway: TableGateway, fault: AWSResponse | Exception
) -> None:
    script = HttpScript(client, fault, http(200, {"Item": stored("p1")}))
    assert gateway.get_item({"pipeline_id": {"S": "p1"}}) == stored("p1")
    assert script.attempts == 2


def test_a_response_failing_its_crc32_check_is_retried(client: Any, gateway: TableGateway) -> None:
    body = json.dumps({"Item": stored("p1")}).encode()
    corrupted = http(200, body, x_amz_crc32=str((zlib.crc32(body) + 1) & 0xFFFFFFFF))
    script = HttpScript(client, corrupted, http(200, body, x_amz_crc32=str(zlib.crc32(body) & 0xFFFFFFFF)))
    assert gateway.get_item({"pipeline_id": {"S": "p1"}}) == stored("p1")
    assert script.attempts == 2


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        (http(502, PROXY_502, Content_Type="text/html"), "HTTP 502 Bad Gateway after 4 attempts"),
        (http(504, PROXY_504, Content_Type="text/html"), "HTTP 504"),
        (dynamodb_error(500, "InternalServerError"), "InternalServerError after 4 attempts"),
    ],
    ids=["proxy-502", "proxy-504", "InternalServerError"],
)
def test_a_5xx_outliving_botocores_attempts_is_retryable_not_a_plain_registry_error(
    client: Any, gateway: TableGateway, fault: AWSResponse, text: str
) -> None:
    script = HttpScript(client, *[fault] * CONFIG.max_attempts)
    with pytest.raises(RetryableError, match=text) as info:
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert script.attempts == CONFIG.max_attempts
    assert (info.value.operation, info.value.table, info.value.key) == ("get_item", TABLE, {"pipeline_id": "p1"})


def test_always_throttled_becomes_retryable_error(client: Any, gateway: TableGateway) -> None:
    script = HttpScript(client, *[dynamodb_error(400, "ThrottlingException")] * CONFIG.max_attempts)
    with pytest.raises(RetryableError, match="ThrottlingException after 4 attempts") as info:
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert script.attempts == CONFIG.max_attempts
    assert info.value.table == TABLE
    assert info.value.operation == "get_item"
    assert info.value.key == {"pipeline_id": "p1"}


def test_unreachable_endpoint_is_a_connection_error(client: Any, sleeps: Sleeps) -> None:
    # nothing listens on port 1: botocore retries the refused connection, then the gateway maps it
    gateway = TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)
    with pytest.raises(
        RegistryConnectionError, match=r"cannot reach DynamoDB at http://127\.0\.0\.1:1 .* after 4 attempts"
    ):
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    assert isinstance(RegistryConnectionError("x"), RetryableError)
    assert sleeps == []  # the gateway itself does not sleep: botocore did the retrying


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
        modeled_fields={"Item": stored("p1")},
    )
    with pytest.raises(ConflictError) as info:
        gateway.put_item(item("p1"), condition=not_exists("pipeline_id"))
    assert info.value.current is not None
    assert (info.value.current["pipeline_id"], info.value.current["version"]) == ("p1", 3)


def test_a_failed_condition_without_the_item_is_confirmed_by_one_consistent_read(
    stubber: Stubber, gateway: TableGateway
) -> None:
    # dynalite ignores ReturnValuesOnConditionCheckFailure: the conflict is not "not found" yet
    stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
    stubber.add_response(
        "get_item",
        {"Item": stored("p1", version=5)},
        expected_params={"TableName": TABLE, "Key": {"pipeline_id": {"S": "p1"}}, "ConsistentRead": True},
    )
    with pytest.raises(ConflictError) as info:
        gateway.put_item(item("p1"), condition=not_exists("pipeline_id"))
    assert info.value.current is not None
    assert info.value.current["version"] == 5
    # nothing stored: the read confirms it, and ``current`` stays None
    stubber.add_client_error("delete_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)
    stubber.add_response("get_item", {})
    with pytest.raises(ConflictError) as gone:
        gateway.delete_item({"pipeline_id": {"S": "p1"}}, condition=not_exists("pipeline_id"))
    assert gone.value.current is None


def test_a_conflict_on_a_stored_item_that_does_not_validate_is_a_corrupt_item_error(
    stubber: Stubber, gateway: TableGateway
) -> None:
    stubber.add_client_error(
        "update_item",
        service_error_code="ConditionalCheckFailedException",
        http_status_code=400,
        modeled_fields={"Item": {"pipeline_id": {"S": "p1"}}},  # only its key
    )
    with pytest.raises(CorruptItemError) as info:
        gateway.update_item({"pipeline_id": {"S": "p1"}}, Update(set={"owner": "x"}), condition=exists("version"))
    assert isinstance(info.value, ValidationError)
    assert (info.value.table, info.value.key, info.value.operation) == (TABLE, {"pipeline_id": "p1"}, "update_item")
    assert {"name", "version"} <= {e["field"] for e in info.value.errors}


def test_validation_exception_and_unknown_errors(stubber: Stubber, gateway: TableGateway) -> None:
    stubber.add_client_error("get_item", service_error_code="ValidationException", service_message="bad")
    stubber.add_client_error("get_item", service_error_code="SomethingNew", service_message="odd")
    with pytest.raises(ValidationError, match="DynamoDB rejected the request: bad"):
        gateway.get_item({"pipeline_id": {"S": "p1"}})
    with pytest.raises(RegistryError, match="SomethingNew: odd"):
        gateway.get_item({"pipeline_id": {"S": "p1"}})


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
    # chunk 2: throttled past botocore's attempts (a Stubber answers after botocore's retry
    # handler would have: one stubbed error is what reaches the gateway when they ran out)
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


def test_batch_write_reports_items_dynamodb_never_took(client: Any, stubber: Stubber, sleeps: Sleeps) -> None:
    # (the run-log batch_upsert's path; config batches are transactions since issue #21)
    gateway = TableGateway(client, TABLE, extract_model_metadata(PipelineConfig), CONFIG, sleep=sleeps)
    for _ in range(CONFIG.max_attempts):
        stubber.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": item("b")}}]}})
    result = gateway.batch_write([item("a"), item("b")])
    assert result.written == 1
    assert result.failed == [{"key": {"pipeline_id": "b"}, "reason": "unprocessed after retries"}]


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
