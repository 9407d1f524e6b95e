"""Single-item get, put, conditional update and two 100-item query pages over the network.

Three variants do the same work on the same items of the same DynamoDB Local:
``raw boto3`` (the low-level client, hand-built requests: the floor), ``ours`` (the registry's
ReadApi/WriteApi over *the same client object*) and ``PynamoDB`` (models bound to the same
endpoint, with the same timeouts and no retries).

The conditional update has a fourth variant, ours' request sent by hand (``SAME_REQUEST``): ours
also records a write token (``write_tokens``, the replay guarantee of issue #21): a nested SET,
two more conditions, a larger item returned, and one trim every 17 writes. It splits ours' ratio
into what that request costs and what our code adds.

The runs indexes project only status and end (issue #26), so there are two query pages: the index
entries (``list_summaries``: the Query alone) and whole runs (``list_by_pipeline``: the Query,
then a BatchGetItem of the page's runs; raw boto3 and PynamoDB make the same two requests).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from fixtures import QUERY_PIPELINE_ID, run_log_values, table_config_values
from timing import Sample, interleave

from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.attributes import encode_value
from airflow_provider_pipeline_registry.registry.timezones import (
    MAX_DATETIME_TEXT,
    MIN_DATETIME_TEXT,
    format_utc,
    parse_utc,
    utc_now,
)
from airflow_provider_pipeline_registry.registry.write_tokens import KEEP, TRIM_ABOVE, WRITE_TOKENS, new_write_token

QUERY_ITEMS = 150  # more than one page, so every variant stops at the 100-item limit
PAGE = 100
#: the fourth variant of the update and the whole-runs page: ours' request, sent by hand
SAME_REQUEST = "raw boto3, ours' request"


def _seed(registry: Registry) -> None:
    registry.runs_write.batch_upsert([run_log_values(0, prefix="get")])
    registry.runs_write.batch_upsert(
        [run_log_values(i, pipeline_id=QUERY_PIPELINE_ID, prefix="query") for i in range(QUERY_ITEMS)]
    )


def _get(registry: Registry, run_model: Any) -> dict[str, Callable[[], object]]:
    client, table = registry.client, registry.runs.gateway.table_name
    values = run_log_values(0, prefix="get")
    run_id, pipeline_id = values["run_id"], values["pipeline_id"]
    key = {"run_id": {"S": run_id}, "pipeline_id": {"S": pipeline_id}}
    reads = registry.runs
    # the same item comes back from all three
    assert reads.find_entity(run_id, pipeline_id) is not None
    assert run_model.get(run_id, pipeline_id).spark_ui_url == values["spark_ui_url"]
    return {
        "raw boto3": lambda: client.get_item(TableName=table, Key=key)["Item"],
        "ours": lambda: reads.find_entity(run_id, pipeline_id),
        "PynamoDB": lambda: run_model.get(run_id, pipeline_id),
    }


def _put(registry: Registry, table_model: Any) -> dict[str, Callable[[], object]]:
    """Create a new table config (conditional on not existing), a fresh id every call."""
    client, table = registry.client, registry.tables_write.gateway.table_name
    writes = registry.tables_write
    counter = itertools.count()

    def raw() -> object:
        values = table_config_values(next(counter), prefix="put-raw")
        now = format_utc(utc_now())
        item: dict[str, Any] = {
            "table_id": {"S": values["table_id"]},
            "pipeline_id": {"S": values["pipeline_id"]},
            "table_name": {"S": values["table_name"]},
            "database": {"S": values["database"]},
            "role": {"S": values["role"]},
            "location": {"S": values["location"]},
            "format": {"S": values["format"]},
            "load_type": {"S": values["load_type"]},
            "watermark_column": {"S": values["watermark_column"]},
            "watermark_value": {"S": values["watermark_value"]},
            "partition_columns": {"L": [{"S": c} for c in values["partition_columns"]]},
            "primary_keys": {"L": [{"S": c} for c in values["primary_keys"]]},
            "options": {"M": {k: {"S": v} for k, v in values["options"].items()}},
            "is_active": {"BOOL": values["is_active"]},
            "description": {"S": values["description"]},
            "version": {"N": "1"},
            "created_at": {"S": now},
            "updated_at": {"S": now},
        }
        return client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression="attribute_not_exists(#id)",
            ExpressionAttributeNames={"#id": "table_id"},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    def ours() -> object:
        return writes.create(table_config_values(next(counter), prefix="put-ours"))

    def pynamodb() -> object:
        now = utc_now()
        values = table_config_values(next(counter), prefix="put-pynamodb")
        entity = table_model(**values, version=1, created_at=now, updated_at=now)
        entity.save(condition=table_model.table_id.does_not_exist())
        return entity

    return {"raw boto3": raw, "ours": ours, "PynamoDB": pynamodb}


def _update(registry: Registry, table_model: Any) -> dict[str, Callable[[], object]]:
    """Optimistic-locking update: set the watermark if ``version`` is the expected one (ALL_NEW back)."""
    client, table = registry.client, registry.tables_write.gateway.table_name
    writes = registry.tables_write
    ids = {name: f"update-{name}.sales.fact_orders" for name in ("raw", "same", "ours", "pynamodb")}
    for table_id in ids.values():
        writes.create({**table_config_values(0), "table_id": table_id})
    versions = dict.fromkeys(ids, 1)
    pyn_entity = table_model.get(ids["pynamodb"])
    counter = itertools.count()

    def raw() -> object:
        response = client.update_item(
            TableName=table,
            Key={"table_id": {"S": ids["raw"]}},
            UpdateExpression="SET #w = :w, #u = :u ADD #v :one",
            ConditionExpression="attribute_exists(#id) AND #v = :expected",
            ExpressionAttributeNames={"#w": "watermark_value", "#u": "updated_at", "#v": "version", "#id": "table_id"},
            ExpressionAttributeValues={
                ":w": {"S": f"2026-03-08T06:{next(counter) % 60:02d}:00Z"},
                ":u": {"S": format_utc(utc_now())},
                ":one": {"N": "1"},
                ":expected": {"N": str(versions["raw"])},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        versions["raw"] = int(response["Attributes"]["version"]["N"])
        return response

    def same() -> object:
        """Ours' request: the version condition, a fresh token recorded with the version it
        produces, refused if already recorded; the map trimmed back to KEEP above TRIM_ABOVE."""
        token = new_write_token()
        expected = versions["same"]
        response = client.update_item(
            TableName=table,
            Key={"table_id": {"S": ids["same"]}},
            UpdateExpression="SET #w = :w, #u = :u, #t.#k = :next ADD #v :one",
            ConditionExpression="#v = :expected AND attribute_exists(#t) AND attribute_not_exists(#t.#k)",
            ExpressionAttributeNames={
                "#w": "watermark_value",
                "#u": "updated_at",
                "#t": WRITE_TOKENS,
                "#k": token,
                "#v": "version",
            },
            ExpressionAttributeValues={
                ":w": {"S": f"2026-03-08T06:{next(counter) % 60:02d}:00Z"},
                ":u": {"S": format_utc(utc_now())},
                ":next": {"N": str(expected + 1)},
                ":one": {"N": "1"},
                ":expected": {"N": str(expected)},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        item = response["Attributes"]
        versions["same"] = int(item["version"]["N"])
        tokens = item[WRITE_TOKENS]["M"]
        if len(tokens) > TRIM_ABOVE:
            newest = sorted(tokens.items(), key=lambda entry: int(entry[1]["N"]))[-KEEP:]
            client.update_item(
                TableName=table,
                Key={"table_id": {"S": ids["same"]}},
                UpdateExpression="SET #t = :kept",
                ConditionExpression="#v = :version",
                ExpressionAttributeNames={"#t": WRITE_TOKENS, "#v": "version"},
                ExpressionAttributeValues={":kept": {"M": dict(newest)}, ":version": item["version"]},
            )
        return response

    def ours() -> object:
        entity = writes.update(
            ids["ours"],
            {"watermark_value": f"2026-03-08T06:{next(counter) % 60:02d}:00Z"},
            expected_version=versions["ours"],
        )
        versions["ours"] = entity.version
        return entity

    def pynamodb() -> object:
        model = table_model
        pyn_entity.update(
            actions=[
                model.watermark_value.set(f"2026-03-08T06:{next(counter) % 60:02d}:00Z"),
                model.updated_at.set(utc_now()),
                model.version.add(1),
            ],
            condition=model.table_id.exists() & (model.version == versions["pynamodb"]),
        )
        versions["pynamodb"] = int(pyn_entity.version)
        return pyn_entity

    return {"raw boto3": raw, SAME_REQUEST: same, "ours": ours, "PynamoDB": pynamodb}


def _query(registry: Registry, run_model: Any, *, whole: bool) -> dict[str, Callable[[], object]]:
    """The newest 100 runs of a pipeline (GSI ``pipeline_runs_index``), decoded into objects:
    the index entries (``whole=False``: ``list_summaries``), or the whole runs (``list_by_pipeline``:
    the Query, then a BatchGetItem of the page's runs)."""
    client, table = registry.client, registry.runs.gateway.table_name
    reads = registry.runs
    low, high = parse_utc(MIN_DATETIME_TEXT), parse_utc(MAX_DATETIME_TEXT)

    def raw() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = client.query(
            TableName=table,
            IndexName="pipeline_runs_index",
            KeyConditionExpression="#p = :p AND #s BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#p": "pipeline_id", "#s": "start_time"},
            ExpressionAttributeValues={
                ":p": encode_value(QUERY_PIPELINE_ID, "pipeline_id"),
                ":lo": {"S": MIN_DATETIME_TEXT},
                ":hi": {"S": MAX_DATETIME_TEXT},
            },
            ScanIndexForward=False,
            Limit=PAGE,
        )["Items"]
        assert len(items) == PAGE
        return items

    def raw_whole() -> object:
        """The Query, then the page's runs by one BatchGetItem, in the page's order (the same
        two requests as ours: the index holds no more than status and end)."""
        entries = raw()
        keys = [{"run_id": e["run_id"], "pipeline_id": e["pipeline_id"]} for e in entries]
        response = client.batch_get_item(RequestItems={table: {"Keys": keys}})
        assert not response.get("UnprocessedKeys"), "DynamoDB Local hands back no keys of a 100-key page"
        found = {(i["run_id"]["S"], i["pipeline_id"]["S"]): i for i in response["Responses"][table]}
        return [found[(e["run_id"]["S"], e["pipeline_id"]["S"])] for e in entries]

    def ours() -> object:
        page = reads.list_by_pipeline(QUERY_PIPELINE_ID, limit=PAGE)
        assert len(page.items) == PAGE
        return page

    def ours_summaries() -> object:
        page = reads.list_summaries(QUERY_PIPELINE_ID, limit=PAGE)
        assert len(page.items) == PAGE
        return page

    def pynamodb() -> list[Any]:
        runs = list(
            run_model.pipeline_runs_index.query(
                QUERY_PIPELINE_ID, run_model.start_time.between(low, high), scan_index_forward=False, limit=PAGE
            )
        )
        assert len(runs) == PAGE
        return runs

    def pynamodb_whole() -> object:
        entries = pynamodb()
        found = {
            (r.run_id, r.pipeline_id): r for r in run_model.batch_get([(e.run_id, e.pipeline_id) for e in entries])
        }
        return [found[(e.run_id, e.pipeline_id)] for e in entries]

    if not whole:
        return {"raw boto3": raw, "ours": ours_summaries, "PynamoDB": pynamodb}
    return {"raw boto3": raw_whole, "ours": ours, "PynamoDB": pynamodb_whole}


def run(
    registry: Registry, models: tuple[type[Any], type[Any]], *, quick: bool, scale: float | None = None
) -> list[tuple[str, dict[str, Sample]]]:
    """``[(operation, {variant: Sample of seconds per call})]``."""
    run_model, table_model = models
    _seed(registry)
    single = (30, 10) if quick else (1500, 200)  # rounds, warm-up calls
    page = (8, 3) if quick else (200, 30)
    if scale is not None:  # the latency section: fewer rounds (each call waits on the proxy's delay)
        single, page = (max(1, int(single[0] * scale)), single[1]), (max(1, int(page[0] * scale)), page[1])
    plan = [
        ("get item", _get(registry, run_model), single),
        ("put item (conditional create)", _put(registry, table_model), single),
        ("conditional update (version)", _update(registry, table_model), single),
        ("query page of 100 (index entries)", _query(registry, run_model, whole=False), page),
        ("query page of 100 (whole runs)", _query(registry, run_model, whole=True), page),
    ]
    return [(name, interleave(variants, rounds=r, warmup=w)) for name, variants, (r, w) in plan]
