from __future__ import annotations

import boto3
import pytest


@pytest.mark.integration
def test_dynamodb_local_roundtrip(dynamodb_endpoint: str, unique_prefix: str) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = f"{unique_prefix}harness"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
        client.put_item(TableName=table, Item={"pk": {"S": "a"}, "value": {"N": "42"}})
        item = client.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]
        assert item == {"pk": {"S": "a"}, "value": {"N": "42"}}
    finally:
        client.delete_table(TableName=table)
    assert table not in client.list_tables()["TableNames"]
