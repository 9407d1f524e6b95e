"""The plugin's JSON API and pages over FastAPI's TestClient, against DynamoDB Local, with real auth.

Requests carry a JWT issued by Airflow's simple auth manager (as Airflow's own API tests do); the
app's dependency resolves it with ``airflow.api_fastapi.core_api.security.get_user``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_auth import token_for
from ui_seed import BIG, BIG_RUNS, SEEDED_SECRETS, big_run

from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.timezones import parse_utc, utc_now

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def _mounted(registry: Registry) -> FastAPI:
    """The plugin app mounted the way the api-server mounts ``fastapi_apps``."""
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: registry))
    return parent


@pytest.fixture(scope="module")
def client(seeded_registry: Registry, auth_manager: Any) -> Iterator[TestClient]:
    with TestClient(_mounted(seeded_registry), base_url=f"http://testserver{URL_PREFIX}") as c:
        c.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
        yield c


@pytest.fixture(scope="module")
def anonymous(seeded_registry: Registry, auth_manager: Any) -> Iterator[TestClient]:
    with TestClient(_mounted(seeded_registry), base_url=f"http://testserver{URL_PREFIX}") as c:
        yield c


# -- authentication and authorization -------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pipelines",
        f"/api/v1/pipeline?pipeline_id={BIG}",
        f"/api/v1/tables?pipeline_id={BIG}",
        f"/api/v1/runs?pipeline_id={BIG}",
        f"/api/v1/run?pipeline_id={BIG}&run_id=x",
        "/ui/",
        f"/ui/pipeline?pipeline_id={BIG}",
    ],
)
def test_anonymous_request_is_refused(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 401
    assert BIG not in response.text.replace(f"pipeline_id={BIG}", "")  # no registry data leaks


def test_anonymous_page_offers_the_login(anonymous: TestClient) -> None:
    response = anonymous.get("/ui/")
    assert response.status_code == 401
    assert "text/html" in response.headers["content-type"]
    assert "Log in to Airflow" in response.text


def test_invalid_token_is_refused(anonymous: TestClient) -> None:
    response = anonymous.get("/api/v1/pipelines", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 403


def test_user_without_dag_read_access_is_forbidden(anonymous: TestClient, auth_manager: Any) -> None:
    token = token_for(auth_manager, "nobody", None)
    response = anonymous.get("/api/v1/pipelines", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert "read access to DAGs" in response.json()["detail"]["message"]


def test_session_cookie_of_the_ui_authenticates(anonymous: TestClient, auth_manager: Any) -> None:
    anonymous.cookies.set("_token", token_for(auth_manager, "viewer", "VIEWER"))
    try:
        assert anonymous.get("/api/v1/pipelines").status_code == 200
    finally:
        anonymous.cookies.clear()


# -- pipelines ------------------------------------------------------------------------------------
def _ids(body: dict[str, Any]) -> list[str]:
    return [p["pipeline_id"] for p in body["pipelines"]]


def test_list_pipelines_with_last_run(client: TestClient) -> None:
    body = client.get("/api/v1/pipelines").json()
    assert _ids(body) == ["inventory_hourly", "legacy_export", BIG]
    assert body["next_page_token"] is None
    assert body["display_timezone"] == "Europe/Paris"
    by_id = {p["pipeline_id"]: p for p in body["pipelines"]}
    newest = big_run(BIG_RUNS - 1)
    assert by_id[BIG]["last_run"]["run_id"] == newest["run_id"]
    assert by_id[BIG]["last_run"]["status"] == newest["status"]
    assert by_id["inventory_hourly"]["last_run"]["status"] == "RUNNING"
    assert by_id["legacy_export"]["last_run"] is None
    assert by_id[BIG]["tags"] == ["sales", "daily"]
    assert by_id[BIG]["created_at"].endswith("Z")  # JSON times are UTC in the storage format


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("active=true", ["inventory_hourly", BIG]),
        ("active=false", ["legacy_export"]),
        ("owner=DATA-ENG", ["legacy_export", BIG]),
        ("tag=inventory", ["inventory_hourly"]),
        ("search=sales", [BIG]),
        ("search=export&active=true", []),
        ("owner=data-eng&active=true", [BIG]),
    ],
)
def test_pipeline_filters(client: TestClient, query: str, expected: list[str]) -> None:
    assert _ids(client.get(f"/api/v1/pipelines?{query}").json()) == expected


def test_pipelines_are_paged_with_the_core_tokens(client: TestClient) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        body = client.get("/api/v1/pipelines", params={"limit": 1, "page_token": token}).json()
        assert len(body["pipelines"]) <= 1
        seen += _ids(body)
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break
    assert sorted(seen) == ["inventory_hourly", "legacy_export", BIG]
    assert pages >= 3


def test_bad_inputs_are_400_naming_the_field(client: TestClient) -> None:
    bad_token = client.get("/api/v1/pipelines?page_token=garbage")
    assert bad_token.status_code == 400
    assert bad_token.json()["detail"] == {
        "error": "validation_error",
        "message": "page_token is malformed (pass back a token this API returned)",
        "field": "page_token",
    }
    assert client.get("/api/v1/pipelines?active=maybe").json()["detail"]["field"] == "active"
    assert client.get(f"/api/v1/runs?pipeline_id={BIG}&status=DONE").json()["detail"]["field"] == "status"
    assert client.get(f"/api/v1/runs?pipeline_id={BIG}&since=yesterday").json()["detail"]["field"] == "since"
    assert "since: 'yesterday' is not a time" in client.get(f"/api/v1/runs?pipeline_id={BIG}&since=yesterday").text


def test_runs_window_reads_the_one_time_grammar_and_returns_it_resolved(client: TestClient) -> None:
    """``since=2h`` (registry/time_inputs.py) is resolved once and returned as UTC text for the next page."""
    body = client.get("/api/v1/runs", params={"pipeline_id": BIG, "since": "1w", "until": "now"}).json()
    since, until = parse_utc(body["since"]), parse_utc(body["until"])
    assert until - since == timedelta(weeks=1)
    assert abs((utc_now() - until).total_seconds()) < 60  # documented bound: one request's duration
    assert client.get("/api/v1/pipelines?limit=0").status_code == 422  # FastAPI's own bounds check


def test_one_pipeline_with_its_tables(client: TestClient) -> None:
    body = client.get("/api/v1/pipeline", params={"pipeline_id": BIG}).json()
    assert body["spark_application"] == "s3://jobs/sales_daily.py"
    # secrets read *** (for every role, as Airflow masks); the rest is shown as stored
    assert body["spark_conf"] == {
        "spark.executor.memory": "4g",
        "spark.hadoop.fs.s3a.secret.key": "***",
        "spark.hadoop.fs.s3a.access.key": "***",
        "spark.sales.jdbc.url": "jdbc:postgresql://***@db.example:5432/sales?ssl=true&password=***",
    }
    assert body["spark_args"] == ["--date", "{{ ds }}", "--db-password", "***", "--secret-key=***"]
    assert body["parameters"] == {
        "threshold": 10,
        "regions": ["eu", "us"],
        "api_token": "***",
        "db": {"host": "db.example", "password": "***"},
    }
    by_id = {t["table_id"]: t for t in body["tables"]}
    assert by_id["raw_sales"]["options"] == {"header": "true", "password": "***"}
    assert by_id["raw_sales"]["location"] == "s3://lake/raw/sales/"
    assert by_id["sales_agg"]["location"] == "s3a://***@lake/mart/sales_agg/"
    assert [(t["table_id"], t["role"], t["format"], t["load_type"]) for t in body["tables"]] == [
        ("raw_sales", "source", "parquet", "incremental"),
        ("sales_agg", "target", "delta", "merge"),
    ]
    tables = client.get("/api/v1/tables", params={"pipeline_id": BIG, "limit": 1}).json()
    assert [t["table_id"] for t in tables["tables"]] == ["raw_sales"]
    rest = client.get("/api/v1/tables", params={"pipeline_id": BIG, "page_token": tables["next_page_token"]})
    assert [t["table_id"] for t in rest.json()["tables"]] == ["sales_agg"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pipeline?pipeline_id=nope",
        "/api/v1/tables?pipeline_id=nope",
        "/api/v1/runs?pipeline_id=nope",
        f"/api/v1/run?pipeline_id={BIG}&run_id=nope/never",
    ],
)
def test_unknown_ids_are_404_with_a_clear_body(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["error"] == "not_found"
    assert "not found" in detail["message"]
    assert ("'nope'" in detail["message"]) or ("'nope/never'" in detail["message"])


# -- runs -----------------------------------------------------------------------------------------
def test_one_thousand_runs_paged_newest_first(client: TestClient) -> None:
    starts: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        body = client.get("/api/v1/runs", params={"pipeline_id": BIG, "limit": 100, "page_token": token}).json()
        assert len(body["runs"]) <= 100
        starts += [r["start_time"] for r in body["runs"]]
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break
    assert len(starts) == BIG_RUNS
    assert len(set(starts)) == BIG_RUNS
    assert starts == sorted(starts, reverse=True)
    assert pages in (10, 11)  # DynamoDB may end with an empty page


def test_first_page_holds_only_the_newest_runs(client: TestClient) -> None:
    body = client.get("/api/v1/runs", params={"pipeline_id": BIG, "limit": 5}).json()
    assert [r["run_id"] for r in body["runs"]] == [big_run(i)["run_id"] for i in range(BIG_RUNS - 1, BIG_RUNS - 6, -1)]
    assert body["next_page_token"]
    newest = body["runs"][0]
    assert newest["duration_seconds"] == 60 + (BIG_RUNS - 1) % 50
    assert newest["display_timezone"] == "Europe/Paris"
    assert newest["heartbeat_age_seconds"] is None
    assert newest["stale"] is False


def test_runs_status_and_time_filters(client: TestClient) -> None:
    failed = client.get("/api/v1/runs", params={"pipeline_id": BIG, "status": "failed", "limit": 500}).json()
    statuses = {r["status"] for r in failed["runs"]}
    assert statuses == {"FAILED"}
    all_failed = [r for r in failed["runs"]]
    token = failed["next_page_token"]
    while token:
        page = client.get("/api/v1/runs", params={"pipeline_id": BIG, "status": "FAILED", "page_token": token}).json()
        all_failed += page["runs"]
        token = page["next_page_token"]
    assert len(all_failed) == sum(1 for i in range(BIG_RUNS) if i % 7 == 6)
    # a window: runs started on 2026-10-02 (hours 24..47 since T0); a naive bound is read in Europe/Paris
    window = client.get(
        "/api/v1/runs",
        params={"pipeline_id": BIG, "since": "2026-10-02T00:00:00Z", "until": "2026-10-02T23:59:59Z", "limit": 100},
    ).json()
    assert [r["start_time"] for r in window["runs"]] == [
        big_run(i)["start_time"].strftime("%Y-%m-%dT%H:%M:%S.000000Z") for i in range(47, 23, -1)
    ]
    naive = client.get(  # Paris is UTC+2 (CEST) on that day
        "/api/v1/runs",
        params={"pipeline_id": BIG, "since": "2026-10-02T02:00:00", "until": "2026-10-03T01:59:59", "limit": 100},
    ).json()
    assert [r["run_id"] for r in naive["runs"]] == [r["run_id"] for r in window["runs"]]
    both = client.get(
        "/api/v1/runs", params=[("pipeline_id", BIG), ("status", "SUCCESS"), ("status", "FAILED"), ("limit", "3")]
    ).json()
    assert len(both["runs"]) == 3


def test_one_run_and_a_running_one(client: TestClient) -> None:
    expected = big_run(6)
    body = client.get("/api/v1/run", params={"pipeline_id": BIG, "run_id": expected["run_id"]}).json()
    assert body["status"] == "FAILED"
    assert body["try_number"] == 2
    assert body["error_type"] == "SparkJobError"
    assert body["spark_ui_url"] == expected["spark_ui_url"]
    assert body["dag_id"] == "sales_daily_dag"
    assert body["task_id"] == "spark_job"
    running = client.get(
        "/api/v1/run",
        params={"pipeline_id": "inventory_hourly", "run_id": "inventory_dag/manual__2026-12-01T08:00:00+00:00"},
    ).json()
    assert running["status"] == "RUNNING"
    assert running["heartbeat_age_seconds"] > 0
    assert running["stale"] is True  # started long ago and never sent a heartbeat


# -- pages (the browser test drives them for real; these check what the server renders) --------
def test_pages_render_the_registry(client: TestClient) -> None:
    listing = client.get("/ui/")
    assert listing.status_code == 200
    assert "Daily sales" in listing.text
    assert 'href="pipeline?pipeline_id=sales_daily"' in listing.text
    assert "CET" in listing.text  # Europe/Paris in November
    page = client.get("/ui/pipeline", params={"pipeline_id": BIG})
    assert page.status_code == 200
    assert "s3://lake/raw/sales/" in page.text
    assert "<svg" in page.text
    assert page.text.count('class="run-link"') == 25
    assert 'id="next-page"' in page.text
    run_link = re.search(r'class="run-link" href="([^"]+)"', page.text)
    assert run_link is not None
    run = client.get("/ui/" + run_link.group(1).replace("&amp;", "&"))
    assert run.status_code == 200
    assert "../../dags/sales_daily_dag/runs/scheduled__" in run.text
    missing = client.get("/ui/pipeline", params={"pipeline_id": "nope"})
    assert missing.status_code == 404
    assert "pipeline &#39;nope&#39; not found" in missing.text


def test_no_config_secret_in_any_answer_to_a_viewer_or_an_admin(
    client: TestClient, seeded_registry: Registry, auth_manager: Any
) -> None:
    stored = seeded_registry.pipelines.get_by_id(BIG)  # control: the registry holds the real values
    assert stored.spark_conf["spark.hadoop.fs.s3a.secret.key"] == SEEDED_SECRETS[0]
    paths = [
        "/api/v1/pipelines",
        "/api/v1/pipelines?active=true",
        f"/api/v1/pipeline?pipeline_id={BIG}",
        f"/api/v1/tables?pipeline_id={BIG}",
        "/ui/",
        f"/ui/pipeline?pipeline_id={BIG}",
    ]
    admin = {"Authorization": f"Bearer {token_for(auth_manager, 'admin', 'ADMIN')}"}
    for headers in ({}, admin):  # the client's own token is a VIEWER's
        for path in paths:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            for secret in SEEDED_SECRETS:
                assert secret not in response.text, f"{secret} shown by {path}"
    page = client.get(f"/ui/pipeline?pipeline_id={BIG}").text
    assert "spark.hadoop.fs.s3a.secret.key" in page  # the key is shown, its value is not
    assert "--db-password ***" in page


def test_no_credentials_in_any_answer(client: TestClient) -> None:
    for path in ["/api/v1/pipelines", f"/api/v1/runs?pipeline_id={BIG}", "/ui/", f"/ui/pipeline?pipeline_id={BIG}"]:
        text = client.get(path).text
        assert "testing" not in text  # the dummy AWS keys of the test session
        assert "aws_secret_access_key" not in text.lower()


# -- the stale threshold is the lease -------------------------------------------------------------
def test_a_run_past_its_lease_is_shown_stale() -> None:
    """The UI calls a RUNNING run stale once its lease expired, i.e. once a driver may take it
    over; before the lease expires it is shown alive. One home: the core's default lease."""
    from datetime import UTC, datetime, timedelta

    from airflow_provider_pipeline_registry.plugins.service import run_json
    from airflow_provider_pipeline_registry.registry.run_logs import PipelineRunLogView
    from airflow_provider_pipeline_registry.registry.run_logs.lifecycle import DEFAULT_LEASE

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def shown(heartbeat_age: timedelta) -> dict[str, Any]:
        run = PipelineRunLogView(
            run_id="r",
            pipeline_id="p",
            status="RUNNING",
            start_time=now - timedelta(hours=1),
            heartbeat_at=now - heartbeat_age,
        )
        return run_json(run, now)

    taken_over = shown(DEFAULT_LEASE + timedelta(seconds=1))  # a driver may take this attempt over
    assert taken_over["heartbeat_age_seconds"] == DEFAULT_LEASE.total_seconds() + 1
    assert taken_over["stale"] is True
    assert shown(DEFAULT_LEASE - timedelta(seconds=1))["stale"] is False


def test_the_pipeline_page_keeps_a_relative_window_resolved_on_its_next_page(client: TestClient) -> None:
    """``since=100000h`` (the one time grammar) is resolved once: the "Older runs" link carries the
    resolved UTC bound, so that paging does not move the window."""
    page = client.get("/ui/pipeline", params={"pipeline_id": BIG, "since": "100000h", "limit": 5}).text
    link = re.search(r'id="next-page" href="([^"]+)"', page)
    assert link is not None, page[-2000:]
    since = re.search(r"since=([^&]+)", link.group(1).replace("&amp;", "&"))
    assert since is not None
    resolved = parse_utc(since.group(1).replace("%3A", ":"))
    assert abs((utc_now() - timedelta(hours=100000) - resolved).total_seconds()) < 60  # one request's duration
