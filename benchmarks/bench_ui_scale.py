"""UI pages at scale (issue #26): the plugin's FastAPI app (``plugins/app.py``) over 10,000 pipelines
and a pipeline of 100,000 runs, against 1,000 pipelines and a 1,000-run pipeline.

Runs inside the history section, on the tables it loaded (runs of ``history_1000`` and
``history_100000`` in one run table); the pipeline configs are added here with raw
``BatchWriteItem`` (8 threads, untimed): 10,000 in the history's registry, 1,000 in a registry of
their own. Each page is one request to the app, mounted as the api-server mounts it and called
in-process through FastAPI's TestClient (the server time: routing, the bounded thread pool, the
service's DynamoDB calls, JSON or the rendered HTML; no socket), interleaved:

* pipelines, first page: ``GET api/v1/pipelines?limit=50`` and the HTML page ``ui/`` (a page of
  50 pipelines and the last run of each);
* pipelines, search: ``api/v1/pipelines?search=<the last pipeline's id>`` (the filter reads the
  searchable attributes of every pipeline before it);
* runs, first page: ``api/v1/runs?pipeline_id=...&limit=50`` and the pipeline's HTML page
  ``ui/pipeline`` (its runs with the duration chart);
* runs, deep page: the 20th page of 50 (runs 951-1,000; its token fetched untimed);
* runs, search: ``api/v1/runs?...&status=FAILED`` where 1 run in 100 failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fixtures import run_log_values
from timing import Sample, interleave

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry
from airflow_provider_pipeline_registry.registry.pipeline_config import PipelineConfig
from airflow_provider_pipeline_registry.registry.timezones import utc_now

DEEP_PAGE = 20
PAGE = 50


@dataclass
class UiScaleResult:
    #: page label -> [(size label, sample)], small first
    pages: dict[str, list[tuple[str, Sample]]] = field(default_factory=dict)
    #: read units of one call of each page (ReturnConsumedCapacity=TOTAL), by the same labels
    units: dict[str, list[float]] = field(default_factory=dict)


def _pipelines(count: int) -> list[dict[str, Any]]:
    now = utc_now()
    return [
        PipelineConfig.model_validate(
            {
                "pipeline_id": f"pipe_{i:05d}",
                "name": f"Pipeline {i:05d} of the sales domain",
                "owner": f"team-{i % 40}",
                "tags": ["sales", f"wave{i % 7}"],
                "is_active": True,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        ).to_dynamodb_item()
        for i in range(count)
    ]


def _app_client(registry: Registry) -> Any:
    """The plugin's app (``plugins/app.py``) over ``registry``, mounted as the api-server mounts it,
    called in-process through FastAPI's TestClient; Airflow's auth dependency is overridden (the
    tests in tests/ui cover it; here it would only add Airflow's JWT check to every page)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from airflow_provider_pipeline_registry.plugins.app import create_app
    from airflow_provider_pipeline_registry.plugins.security import requires_registry_read
    from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX

    # httpx logs every request at INFO through Airflow's logging set-up: not the benchmark's output
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(lambda: registry)
    app.dependency_overrides[requires_registry_read] = lambda: None
    parent = FastAPI()
    parent.mount(URL_PREFIX, app)
    return TestClient(parent, base_url=f"http://testserver{URL_PREFIX}")


def _get(client: Any, path: str, **params: Any) -> Any:
    """One request of a page; its answer must be 200."""

    def call() -> Any:
        answer = client.get(path, params=params)
        assert answer.status_code == 200, (path, params, answer.status_code, answer.text[:300])
        return answer

    return call


def run(
    base: DynamoDBConfig,
    runs_registry: Registry,
    load: Any,
    bulk: Any,
    *,
    sizes: tuple[int, int],
    pipeline_counts: tuple[int, int],
    quick: bool,
) -> UiScaleResult:
    small_registry = Registry(base.model_copy(update={"table_prefix": "histui_"}))
    small_registry.create_tables()
    registries = {pipeline_counts[0]: small_registry, pipeline_counts[1]: runs_registry}
    for count, registry in registries.items():
        load(bulk, registry.config.table_name("pipeline_config"), _pipelines(count))
    # the two run histories need a pipeline config each (the runs page checks the pipeline exists)
    for size in sizes:
        runs_registry.pipelines_write.upsert({"pipeline_id": f"history_{size}", "name": f"history {size}"})
        # 1 run in 100 failed (the runs search finds them): rewrite those few untimed
        table = runs_registry.config.table_name("pipeline_run_logs")
        for i in range(0, size, 100):
            values = run_log_values(i, pipeline_id=f"history_{size}")
            runs_registry.client.update_item(
                TableName=table,
                Key={"run_id": {"S": values["run_id"]}, "pipeline_id": {"S": f"history_{size}"}},
                UpdateExpression="SET #s = :f",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":f": {"S": "FAILED"}},
            )
    clients = {count: _app_client(registry) for count, registry in registries.items()}
    runs_client = clients[pipeline_counts[1]]
    variants: dict[str, Any] = {}
    for count, client in clients.items():
        needle = f"pipe_{count - 1:05d}"  # the last pipeline's id: the search reads every page before it
        variants[f"pipelines: first page (API)@{count:,} pipelines"] = _get(client, "/api/v1/pipelines", limit=PAGE)
        variants[f"pipelines: first page (HTML)@{count:,} pipelines"] = _get(client, "/ui/", limit=PAGE)
        variants[f"pipelines: search the last id (API)@{count:,} pipelines"] = _get(
            client, "/api/v1/pipelines", search=needle, limit=PAGE
        )
    deep = min(DEEP_PAGE, sizes[0] // PAGE)
    for size in sizes:
        pid = f"history_{size}"
        token = None
        for _ in range(deep - 1):
            answer = runs_client.get("/api/v1/runs", params={"pipeline_id": pid, "limit": PAGE, "page_token": token})
            token = answer.json()["next_page_token"]
        assert token is not None
        variants[f"runs: first page (API)@{size:,} runs"] = _get(
            runs_client, "/api/v1/runs", pipeline_id=pid, limit=PAGE
        )
        variants[f"runs: first page (HTML, chart)@{size:,} runs"] = _get(
            runs_client, "/ui/pipeline", pipeline_id=pid, limit=PAGE
        )
        variants[f"runs: page {deep}, runs {PAGE * (deep - 1) + 1:,}-{PAGE * deep:,} (API)@{size:,} runs"] = _get(
            runs_client, "/api/v1/runs", pipeline_id=pid, limit=PAGE, page_token=token
        )
        variants[f"runs: search status=FAILED (API)@{size:,} runs"] = _get(
            runs_client, "/api/v1/runs", pipeline_id=pid, status="FAILED", limit=PAGE
        )
    for fn in variants.values():
        fn()  # every page answers before it is timed
    rounds, warmup = (3, 1) if quick else (10, 1)
    samples = interleave(variants, rounds=rounds, warmup=warmup)
    result = UiScaleResult()
    from bench_capacity import Meter

    meters = {id(r.client): Meter(r.client) for r in registries.values()}
    for name, sample in samples.items():
        page, size = name.split("@")
        result.pages.setdefault(page, []).append((size, sample))
        for meter in meters.values():
            meter.take()
        variants[name]()
        result.units.setdefault(page, []).append(sum(m.take()[2] for m in meters.values()))
    for meter in meters.values():
        meter.on = False
    for logical in ("pipeline_config", "table_config", "pipeline_run_logs"):
        small_registry.client.delete_table(TableName=small_registry.config.table_name(logical))  # type: ignore[arg-type]
    return result


def report(result: UiScaleResult) -> Any:
    from rich.table import Table

    table = Table(title="UI pages at scale: the plugin app's server time per page (median ms, in-process TestClient)")
    for column in ("page", "small", "median ms", "RCU", "large", "median ms ", "RCU ", "large / small (ms)"):
        table.add_column(column)
    for page, rows in result.pages.items():
        (small, s), (large, g) = rows
        units = result.units.get(page, [0.0, 0.0])
        table.add_row(
            page,
            small,
            f"{s.median * 1e3:.1f}",
            f"{units[0]:g}",
            large,
            f"{g.median * 1e3:.1f}",
            f"{units[1]:g}",
            f"{g.median / s.median:.2f}x",
        )
    return table
