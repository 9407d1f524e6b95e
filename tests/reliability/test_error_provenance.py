"""A RegistryError mapped from a DynamoDB answer keeps what AWS support asks for -- the error code,
the request id and the botocore error as ``__cause__`` -- against a REAL DynamoDB Local, and with
an answer injected at the HTTP layer (botocore's ``before-send`` hook); never a credential."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from reliability_faults import error_response

from airflow_provider_pipeline_registry.registry import AccessDeniedError, ConflictError, Registry

pytestmark = pytest.mark.integration

RegistryFactory = Callable[..., Registry]
KEY_ID = "AKIAXQ7PROVENANCE4242"
SECRET = "wJalrXUtnFEMI/K7MDENG/provenanceSecret+0123456789abcdefXYZ"


def shown(exc: BaseException) -> str:
    """Everything a log line or a traceback of ``exc`` shows (its cause included)."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


def test_a_conflict_keeps_the_aws_error_code_request_id_and_cause(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})

    with pytest.raises(ConflictError) as created_twice:  # the gateway's mapping
        registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    with pytest.raises(ConflictError) as stale_version:  # re-mapped by the config store
        registry.pipelines_write.update("p", {"owner": "me"}, expected_version=7)

    for exc in (created_twice.value, stale_version.value):
        assert exc.aws_error_code == "ConditionalCheckFailedException"
        assert exc.aws_request_id  # DynamoDB Local's x-amzn-RequestId
        assert isinstance(exc.__cause__, ClientError)
        assert exc.__cause__.response["ResponseMetadata"]["RequestId"] == exc.aws_request_id
        assert "\n" not in str(exc)  # the CLI and the UI print it as one line
    assert "version 1, not the expected version 7" in stale_version.value.message


def test_an_answer_that_echoes_credentials_keeps_its_code_and_request_id_but_never_the_credentials(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()
    message = f"User {KEY_ID} (aws_secret_access_key={SECRET}) is not authorized to perform dynamodb:GetItem"

    def refuse(request: Any, **_: Any) -> Any:
        return error_response(request.url, 400, "AccessDeniedException", message)

    events = registry.client.meta.events
    events.register("before-send.dynamodb.GetItem", refuse, unique_id="provenance-refuse")
    try:
        with pytest.raises(AccessDeniedError) as refused:
            registry.pipelines.get_by_id("p")
    finally:
        events.unregister("before-send.dynamodb.GetItem", unique_id="provenance-refuse")

    exc = refused.value
    assert exc.aws_error_code == "AccessDeniedException"
    assert exc.aws_request_id == "INJECTED"
    assert isinstance(exc.__cause__, ClientError)
    assert "AccessDeniedException" in shown(exc)  # the cause is in the traceback ...
    assert KEY_ID not in shown(exc)  # ... but not what the answer echoed
    assert SECRET not in shown(exc)
    assert "\n" not in str(exc)
