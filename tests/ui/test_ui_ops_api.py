"""Issue 25, server side, over FastAPI's TestClient against DynamoDB Local with a Viewer's JWT:
search and order at 10,000 pipelines, bad items shown by key, orphan runs, safe links, errors
that name no endpoint, validation errors as pages, API docs behind auth, and the on-call data
(usual duration, ratio, chart scale, stale in every list, auto-refresh, formatted metrics, several
statuses)."""

from __future__ import annotations

import html
import re
import statistics
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dynamodb_local import DynamoDBLocal
from fastapi import FastAPI
from fastapi.testclient import TestClient
from registry_fixtures import registry_on
from ui_auth import token_for
from ui_scale_seed import LAST_ID, LAST_NAME, MANY, TEN_THOUSAND_PREFIX, is_active, pipeline_id
from ui_seed import BIG, BIG_RUNS, big_run

from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def _client(registry: Registry, auth_manager: Any, role: str | None = "VIEWER") -> TestClient:
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: registry))
    client = TestClient(parent, base_url=f"http://testserver{URL_PREFIX}")
    if role:
        client.headers["Authorization"] = f"Bearer {token_for(auth_manager, role.lower(), role)}"
    return client


def _drop(registry: Registry) -> None:
    for name in registry.config.describe()["tables"].values():
        registry.client.delete_table(TableName=name)


def _ids(body: dict[str, Any]) -> list[str]:
    return [p["pipeline_id"] for p in body["pipelines"]]


# -- 10,000 pipelines ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def many(ten_thousand: DynamoDBLocal, auth_manager: Any) -> Iterator[TestClient]:
    """The 10,000 pipelines, seeded once per session in their own DynamoDB Local (tests/ui/conftest.py)."""
    registry = registry_on(ten_thousand.url, TEN_THOUSAND_PREFIX, create=False)
    with _client(registry, auth_manager) as client:
        yield client


def test_pipelines_are_in_id_order_across_pages(many: TestClient) -> None:
    """Three pages of 200 of 10,000 pipelines (active and inactive): exactly the first 600 ids in
    order (a scan's pages, each sorted, interleave)."""
    seen: list[str] = []
    token: str | None = None
    for _ in range(3):
        body = many.get("/api/v1/pipelines", params={"limit": 200, "page_token": token}).json()
        assert len(body["pipelines"]) == 200
        seen += _ids(body)
        token = body["next_page_token"]
        assert token
    assert seen == [pipeline_id(i) for i in range(600)]
    inactive = many.get("/api/v1/pipelines", params={"active": "false", "limit": 50}).json()
    assert _ids(inactive) == [pipeline_id(i) for i in range(MANY) if not is_active(i)][:50]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        (LAST_NAME.split()[1].upper(), [LAST_ID]),  # a word of the name, any case
        (LAST_ID, [LAST_ID]),
        ("PIPE_0999", [pipeline_id(i) for i in range(9990, MANY)]),  # an id prefix
    ],
)
def test_search_finds_the_last_of_ten_thousand_pipelines(many: TestClient, search: str, expected: list[str]) -> None:
    body = many.get("/api/v1/pipelines", params={"search": search}).json()
    assert _ids(body) == expected
    assert body["next_page_token"] is None
    assert body["partial"] is False
    page = many.get("/ui/", params={"search": search})
    assert page.status_code == 200
    assert f'href="pipeline?pipeline_id={LAST_ID}"' in page.text
    assert "No pipeline matches" not in page.text


def test_the_last_page_of_a_search_has_no_next_token(many: TestClient) -> None:
    first = many.get("/api/v1/pipelines", params={"search": "pipe_0999", "limit": 6}).json()
    assert _ids(first) == [pipeline_id(i) for i in range(9990, 9996)]
    rest = many.get("/api/v1/pipelines", params={"search": "pipe_0999", "page_token": first["next_page_token"]})
    assert _ids(rest.json()) == [pipeline_id(i) for i in range(9996, MANY)]
    assert rest.json()["next_page_token"] is None


# -- a registry per test ---------------------------------------------------------------------------
@pytest.fixture
def fresh(make_registry: Callable[..., Registry], auth_manager: Any) -> Iterator[tuple[Registry, TestClient]]:
    registry = make_registry(user_timezone="UTC")
    try:
        with _client(registry, auth_manager) as client:
            yield registry, client
    finally:
        _drop(registry)


T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _run(registry: Registry, pipeline: str, run_id: str, seconds: float, **extra: Any) -> None:
    start = extra.pop("start", T0)
    report = registry.runs_write.batch_upsert(
        [
            {
                "run_id": run_id,
                "pipeline_id": pipeline,
                "status": extra.pop("status", "SUCCESS"),
                "start_time": start,
                "end_time": start + timedelta(seconds=seconds),
                **extra,
            }
        ]
    )
    assert report.ok, report.failed


def _rewrite_raw(registry: Registry, run_id: str, pipeline: str, **attributes: dict[str, Any]) -> None:
    """Another tool rewrites attributes of a stored run (what the core would refuse to write)."""
    table = registry.runs.gateway.table_name
    key = {"run_id": {"S": run_id}, "pipeline_id": {"S": pipeline}}
    item = registry.client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    item.update(attributes)
    registry.client.put_item(TableName=table, Item=item)


def test_a_bad_run_is_shown_by_its_key_and_breaks_nothing(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    _run(registry, "p", "good", 60, start=T0)
    _run(registry, "p", "skipped-by-tool", 60, start=T0 + timedelta(hours=1))
    _rewrite_raw(registry, "skipped-by-tool", "p", status={"S": "SKIPPED"})
    # a pipeline config another tool wrote without the bookkeeping attributes
    registry.client.put_item(
        TableName=registry.pipelines.gateway.table_name,
        Item={"pipeline_id": {"S": "p_bad"}, "is_active": {"S": "true"}, "name": {"S": "Bad"}},
    )

    runs = client.get("/api/v1/runs", params={"pipeline_id": "p"})
    assert runs.status_code == 200, runs.text
    assert [r["run_id"] for r in runs.json()["runs"]] == ["good"]
    (bad,) = runs.json()["bad_items"]
    assert bad["error"] == "corrupt_item"
    assert bad["key"] == {"run_id": "skipped-by-tool", "pipeline_id": "p"}
    assert any(e["field"] == "status" for e in bad["errors"])

    listing = client.get("/api/v1/pipelines")
    assert listing.status_code == 200, listing.text
    assert _ids(listing.json()) == ["p"]
    assert [b["key"] for b in listing.json()["bad_items"]] == [{"pipeline_id": "p_bad"}]
    (p,) = listing.json()["pipelines"]
    assert p["last_run"] is None
    assert p["last_run_bad_item"]["key"] == {"run_id": "skipped-by-tool", "pipeline_id": "p"}
    assert client.get("/api/v1/pipelines", params={"search": "p"}).status_code == 200

    for path, params in [
        ("/ui/", {}),
        ("/ui/", {"search": "p"}),
        ("/ui/pipeline", {"pipeline_id": "p"}),
        ("/ui/run", {"pipeline_id": "p", "run_id": "skipped-by-tool"}),
        ("/ui/pipeline", {"pipeline_id": "p_bad"}),
    ]:
        page = client.get(path, params=params)
        assert page.status_code == 200, (path, params, page.text[-500:])
        assert "Bad item (" in page.text, (path, params)
    assert "run_id=&#39;skipped-by-tool&#39;" in client.get("/ui/pipeline", params={"pipeline_id": "p"}).text
    one = client.get("/api/v1/run", params={"pipeline_id": "p", "run_id": "skipped-by-tool"})
    assert one.status_code == 422
    assert one.json()["detail"]["error"] == "corrupt_item"
    assert one.json()["detail"]["key"] == {"run_id": "skipped-by-tool", "pipeline_id": "p"}


def test_runs_of_a_pipeline_without_config_are_reachable(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    _run(registry, "ghost", "ghost/1", 42)
    body = client.get("/api/v1/runs", params={"pipeline_id": "ghost"})
    assert body.status_code == 200, body.text
    assert body.json()["has_config"] is False
    assert [r["run_id"] for r in body.json()["runs"]] == ["ghost/1"]
    page = client.get("/ui/pipeline", params={"pipeline_id": "ghost"})
    assert page.status_code == 200
    assert 'id="no-config"' in page.text
    assert 'class="run-link"' in page.text
    assert client.get("/api/v1/runs", params={"pipeline_id": "nothing"}).status_code == 404
    assert client.get("/ui/pipeline", params={"pipeline_id": "nothing"}).status_code == 404


def test_links_to_airflow_are_built_safely_for_any_stored_id(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    _run(registry, "p", "dots", 10, dag_id="d", dag_run_id="r", task_id="t")
    _rewrite_raw(registry, "dots", "p", dag_id={"S": ".."}, dag_run_id={"S": ".."})
    _run(registry, "p", "slashes", 10, dag_id="team/dag", dag_run_id="manual__1?x=#y", task_id="..")
    dots = client.get("/ui/run", params={"pipeline_id": "p", "run_id": "dots"}).text
    assert 'id="dag-run-link"' not in dots  # no link at all rather than one to Airflow's home
    assert 'id="task-link"' not in dots
    assert "../../dags/.." not in dots
    slashes = client.get("/ui/run", params={"pipeline_id": "p", "run_id": "slashes"}).text
    assert 'href="../../dags/team%2Fdag/runs/manual__1%3Fx%3D%23y"' in slashes
    assert 'id="task-link"' not in slashes  # the task id ".." cannot be one path segment


def test_errors_name_no_internal_endpoint(dynamodb_endpoint: str, auth_manager: Any) -> None:
    from dynamodb_local import find_free_port

    port = find_free_port()  # nothing listens there
    registry = registry_on(f"http://127.0.0.1:{port}", "unreached_", create=False, max_attempts=1)
    with _client(registry, auth_manager) as client:
        page = client.get("/ui/")
        api = client.get("/api/v1/pipelines")
    assert page.status_code == 503
    assert api.status_code == 503
    assert api.json()["detail"]["error"] == "registry_unavailable"
    for text in (page.text, api.text):
        assert str(port) not in text
        assert "127.0.0.1" not in text
        assert "<endpoint>" in html.unescape(text)


def test_validation_errors_are_pages(fresh: tuple[Registry, TestClient]) -> None:
    _, client = fresh
    for path, field in [
        ("/ui/pipeline", "pipeline_id"),
        ("/ui/?limit=0", "limit"),
        ("/ui/run?run_id=x", "pipeline_id"),
    ]:
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert field in response.text, path
        assert '"detail"' not in response.text
    assert client.get("/api/v1/pipelines?limit=0").status_code == 422  # the API keeps FastAPI's JSON


def test_api_docs_are_behind_auth_and_self_contained(fresh: tuple[Registry, TestClient], auth_manager: Any) -> None:
    registry, client = fresh
    with _client(registry, auth_manager, role=None) as anonymous:
        assert anonymous.get("/api/docs").status_code == 401
        assert anonymous.get("/api/openapi.json").status_code == 401
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/pipelines" in schema.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "GET /api/v1/runs" in docs.text
    assert "cdn" not in docs.text.lower()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", docs.text)


# -- on-call data ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeded(seeded_registry: Registry, auth_manager: Any) -> Iterator[TestClient]:
    with _client(seeded_registry, auth_manager) as client:
        yield client


def test_usual_duration_and_ratio(seeded: TestClient) -> None:
    successes = [60 + i % 50 for i in range(BIG_RUNS - 1, -1, -1) if i % 7 != 6][:50]
    body = seeded.get("/api/v1/runs", params={"pipeline_id": BIG, "limit": 5}).json()
    assert body["usual"]["sample_size"] == 50
    assert body["usual"]["median_seconds"] == statistics.median(successes)
    assert body["usual"]["p90_seconds"] == round(statistics.quantiles(successes, n=10, method="inclusive")[8], 3)
    newest = big_run(BIG_RUNS - 1)
    ratio = round((60 + (BIG_RUNS - 1) % 50) / statistics.median(successes), 2)
    assert body["runs"][0]["usual_ratio"] == ratio
    one = seeded.get("/api/v1/run", params={"pipeline_id": BIG, "run_id": newest["run_id"]}).json()
    assert one["usual_ratio"] == ratio
    assert one["usual"]["median_seconds"] == statistics.median(successes)
    page = seeded.get("/ui/run", params={"pipeline_id": BIG, "run_id": newest["run_id"]}).text
    assert f"({ratio}x the usual" in page
    assert 'id="usual"' in seeded.get("/ui/pipeline", params={"pipeline_id": BIG}).text


def test_stale_in_every_list_and_auto_refresh_while_running(seeded: TestClient) -> None:
    body = seeded.get("/api/v1/pipelines").json()
    by_id = {p["pipeline_id"]: p for p in body["pipelines"]}
    assert by_id["inventory_hourly"]["last_run"]["stale"] is True
    assert by_id[BIG]["last_run"]["stale"] is False
    assert body["any_running"] is True
    assert body["auto_refresh_seconds"]
    listing = seeded.get("/ui/").text
    row = re.search(
        r"<tr>\s*<td data-label=\"Pipeline id\"><a class=\"pipeline-link\"[^>]*>inventory_hourly</a>.*?</tr>",
        listing,
        re.S,
    )
    assert row is not None
    assert 'class="stale"' in row.group(0)
    assert 'http-equiv="refresh"' in listing
    assert 'http-equiv="refresh"' not in seeded.get("/ui/pipeline", params={"pipeline_id": BIG}).text
    runs = seeded.get("/api/v1/runs", params={"pipeline_id": "inventory_hourly"}).json()
    assert runs["any_running"] is True
    assert runs["runs"][0]["stale"] is True
    assert 'class="stale"' in seeded.get("/ui/pipeline", params={"pipeline_id": "inventory_hourly"}).text


def test_several_statuses_at_once_in_the_page_filter(seeded: TestClient) -> None:
    page = seeded.get("/ui/pipeline", params=[("pipeline_id", BIG), ("status", "FAILED"), ("status", "SUCCESS")])
    assert page.status_code == 200
    rows = re.findall(r'<tr><td data-label="Run"><a class="run-link".*?</tr>', page.text, re.S)
    assert len(rows) == 25
    assert any("status-FAILED" in r for r in rows)
    assert any("status-SUCCESS" in r for r in rows)
    assert re.search(r'<option value="FAILED"\s+selected', page.text)
    assert re.search(r'<option value="SUCCESS"\s+selected', page.text)
    only_failed = seeded.get("/ui/pipeline", params=[("pipeline_id", BIG), ("status", "FAILED")]).text
    failed_rows = re.findall(r'<tr><td data-label="Run"><a class="run-link".*?</tr>', only_failed, re.S)
    assert failed_rows
    assert "status-SUCCESS" not in "".join(failed_rows)


def test_chart_scale_clips_outliers_and_metrics_are_formatted(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    for i in range(9):
        _run(registry, "p", f"r{i}", 60 + i, start=T0 + timedelta(hours=i))
    _run(
        registry,
        "p",
        "slow",
        6000,
        start=T0 + timedelta(hours=10),
        metrics={"rows_written": 1234567, "bytes_written": 1610612736, "write_seconds": 125},
    )
    body = client.get("/api/v1/runs", params={"pipeline_id": "p"}).json()
    assert body["chart_scale"]["mode"] == "clipped"
    assert body["chart_scale"]["outlier_run_ids"] == ["slow"]
    assert body["chart_scale"]["max_seconds"] < 6000
    slow = body["runs"][0]
    assert slow["metrics_formatted"] == {
        "bytes_written": "1.5 GiB",
        "rows_written": "1,234,567",
        "write_seconds": "2m05s",
    }
    page = client.get("/ui/run", params={"pipeline_id": "p", "run_id": "slow"}).text
    assert "1,234,567" in page
    assert "1.5 GiB" in page
    even = client.get("/api/v1/runs", params={"pipeline_id": "p", "until": "2026-11-02T16:30:00Z"}).json()
    assert even["chart_scale"]["mode"] == "linear"
