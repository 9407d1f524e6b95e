"""Issue 25, server side, against a real ``airflow api-server`` reading a private DynamoDB Local.

* A Viewer logged in through Airflow's own form finds the last of 10,000 pipelines with the
  search form, sees a bad run by its key on a pipeline page that still lists the good one, and
  gets a page (not FastAPI's JSON) for a request missing its pipeline id (Debian's chromium).
* Starvation: with that DynamoDB Local frozen (SIGSTOP), 45 plugin requests in flight, Airflow's
  own ``/api/v2/monitor/health`` still answers within 1 s (the bound the issue names), and every
  plugin request ends with a 503 that names no endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dynamodb_local import DynamoDBLocal
from registry_fixtures import registry_on
from ui_api_server import running_api_server
from ui_scale_seed import LAST_ID, LAST_NAME, TEN_THOUSAND_PREFIX

from airflow_provider_pipeline_registry.registry import Registry

# a hang guard, not a speed target: seeding, migrating, serving and a browser on a loaded 2-core box
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(1500)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "ops-admin-pw-40213"
VIEWER_PASSWORD = "ops-viewer-pw-77120"
PLUGIN_PAGES = "/plugin/pipeline_registry/pipeline-registry/ui/"
IN_FLIGHT = 45
#: the issue's bound: Airflow's own health endpoint answers within this, whatever DynamoDB does
HEALTH_BOUND_SECONDS = 1.0


@pytest.fixture(scope="module")
def dynamodb(ten_thousand: DynamoDBLocal) -> DynamoDBLocal:
    """The private DynamoDB Local of the 10,000 pipelines (tests/ui/conftest.py), frozen below."""
    return ten_thousand


@pytest.fixture(scope="module")
def registry(dynamodb: DynamoDBLocal) -> Registry:
    registry = registry_on(dynamodb.url, TEN_THOUSAND_PREFIX, create=False, user_timezone="UTC")
    registry.pipelines_write.create({"pipeline_id": "with_bad_run", "name": "With a bad run"})
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    report = registry.runs_write.batch_upsert(
        [
            {
                "run_id": run_id,
                "pipeline_id": "with_bad_run",
                "status": "SUCCESS",
                "start_time": start + timedelta(hours=hour),
                "end_time": start + timedelta(hours=hour, minutes=2),
            }
            for hour, run_id in enumerate(["good-run", "skipped-by-tool"])
        ]
    )
    assert report.ok, report.failed
    table = registry.runs.gateway.table_name
    key = {"run_id": {"S": "skipped-by-tool"}, "pipeline_id": {"S": "with_bad_run"}}
    item = registry.client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    registry.client.put_item(TableName=table, Item={**item, "status": {"S": "SKIPPED"}})  # another tool wrote it
    return registry


def _post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[str]:
    home = tmp_path_factory.mktemp("ops-airflow-home")
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD, "viewer": VIEWER_PASSWORD}))
    config = registry.config
    connection = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {
            "endpoint_url": config.endpoint_url,
            "region_name": config.region,
            "table_prefix": config.table_prefix,
        },
    }
    env = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW_CONN_OPS_REGISTRY": json.dumps(connection),
        "AIRFLOW__PIPELINE_REGISTRY__AWS_CONN_ID": "ops_registry",
    }
    with running_api_server(home, env) as base:
        yield base


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)


def test_a_viewer_finds_the_last_of_ten_thousand_and_sees_a_bad_item(api_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a hang guard: a search reads 10,000 index entries on a loaded box
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            _login(page, api_server, "viewer", VIEWER_PASSWORD)
            page.goto(f"{api_server}{PLUGIN_PAGES}")
            frame = page.frame_locator("iframe[title='Registry']")
            expect(frame.locator("#pipelines tbody tr").first).to_contain_text("pipe_00000")  # id order
            frame.locator("input[name=search]").fill(LAST_NAME.split()[1])
            frame.get_by_role("button", name="Filter").click()
            rows = frame.locator("#pipelines tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(LAST_ID)
            expect(rows.first).to_contain_text(LAST_NAME)

            page.goto(f"{api_server}{PLUGIN_PAGES}pipeline?pipeline_id=with_bad_run")
            frame = page.frame_locator("iframe[title='Registry']")
            runs = frame.locator("#runs")
            expect(runs).to_contain_text("good-run")
            expect(runs.locator("tr.bad-item")).to_contain_text("run_id='skipped-by-tool'")
            expect(runs.locator("tr.bad-item")).to_contain_text("status")

            page.goto(f"{api_server}{PLUGIN_PAGES}pipeline")  # no pipeline_id: a page, not JSON
            frame = page.frame_locator("iframe[title='Registry']")
            expect(frame.locator("h1")).to_contain_text("Bad request")
            expect(frame.locator("#message")).to_contain_text("pipeline_id")
        finally:
            browser.close()


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_frozen_dynamodb_does_not_starve_airflows_api(api_server: str, dynamodb: DynamoDBLocal) -> None:
    token = _post_json(f"{api_server}/auth/token", {"username": "viewer", "password": VIEWER_PASSWORD})["access_token"]
    listing = f"{api_server}/pipeline-registry/api/v1/pipelines?search={LAST_ID}"
    assert _get(listing, token)[0] == 200  # control: the registry answers, the plugin's client is built
    process = dynamodb._process
    assert process is not None
    os.kill(process.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            pending = [pool.submit(_get, listing, token) for _ in range(IN_FLIGHT)]
            time.sleep(3.0)  # every request reached the plugin (admitted or refused)
            begun = time.monotonic()
            with urllib.request.urlopen(f"{api_server}/api/v2/monitor/health", timeout=60) as response:
                health = json.load(response)
            took = time.monotonic() - begun
            answers = [f.result(timeout=300) for f in pending]
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert health["metadatabase"]["status"] == "healthy"
    assert took < HEALTH_BOUND_SECONDS, f"Airflow's health endpoint took {took:.2f} s"
    assert all(status == 503 for status, _ in answers), [s for s, _ in answers]
    errors = {json.loads(body)["detail"]["error"] for _, body in answers}
    assert errors <= {"registry_busy", "registry_timeout", "registry_unavailable"}
    assert "registry_busy" in errors  # more requests than the plugin admits were refused at once
    for _, body in answers:
        assert str(dynamodb.port) not in body  # no endpoint named to a Viewer
    # thawed, the registry answers again (the plugin's threads were freed by botocore's timeouts)
    deadline = time.monotonic() + 120
    while _get(listing, token)[0] != 200:
        assert time.monotonic() < deadline, "the plugin did not recover after DynamoDB was thawed"
        time.sleep(1.0)
