"""The registry in Airflow's UI, driven by Debian's headless Chromium through Playwright.

A real ``airflow api-server`` (real login with the simple auth manager) with the provider installed
reads seeded registry tables in DynamoDB Local. One browser session walks: login -> "Pipeline
Registry" in the navigation -> a pipeline (config, tables, runs, chart, older runs) -> a run ->
the Airflow task instance page -> back. Screenshots go to the test's tmp dir (and, with
``PIPELINE_REGISTRY_SCREENSHOTS=<dir>``, to that dir: how docs/images/ is refreshed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_api_server import airflow_command, airflow_env, running_api_server
from ui_seed import (
    BIG,
    BIG_RUNS,
    ORPHAN,
    RETRIED_DAG_RUN,
    RETRIED_OOM,
    RETRIED_TIMEOUT,
    REWIND_REASON_SECRET,
    SEEDED_SECRETS,
    WATERMARK_REWOUND,
    WATERMARK_RUN,
    WATERMARK_TABLE,
    WATERMARK_TO,
    big_run,
    outlier_runs,
    retried_run,
)

from airflow_provider_pipeline_registry.registry import Registry

# a hang guard, not a speed target: migrating, serving and driving a browser on a loaded 2-core box
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(1500)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "ui-test-pw-81723"
VIEWER_PASSWORD = "ui-viewer-pw-55031"
ACCESS_KEY = "testing"  # DynamoDB Local accepts alphanumeric keys only
SECRET_KEY = "uiSecretKey0000000000000000000000000000x"
RUNNING_DAG_RUN = "manual__2026-12-01T08:00:00+00:00"
DAG_FILE = """
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("inventory_dag", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="spark_job")
"""


def _post_json(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, seeded_registry: Registry) -> Iterator[str]:
    """The api-server (plugin on, real auth) reading the seeded registry, with the dag run of the RUNNING run."""
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    (home / "dags" / "inventory_dag.py").write_text(DAG_FILE)
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD, "viewer": VIEWER_PASSWORD}))
    config = seeded_registry.config
    connection = {
        "conn_type": "aws",
        "login": ACCESS_KEY,
        "password": SECRET_KEY,
        "extra": {
            "endpoint_url": config.endpoint_url,
            "region_name": config.region,
            "table_prefix": config.table_prefix,
            "user_timezone": config.user_timezone,
        },
    }
    env = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW_CONN_UI_REGISTRY": json.dumps(connection),
        "AIRFLOW__PIPELINE_REGISTRY__AWS_CONN_ID": "ui_registry",
    }
    with running_api_server(home, env) as base:
        # the Airflow dag run and task the RUNNING registry run came from (no scheduler: it stays queued)
        done = subprocess.run(
            [*airflow_command(), "dags", "reserialize"],
            env=airflow_env(home, env),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        token = _post_json(f"{base}/auth/token", {"username": "admin", "password": PASSWORD})["access_token"]
        _post_json(
            f"{base}/api/v2/dags/inventory_dag/dagRuns",
            {"dag_run_id": RUNNING_DAG_RUN, "logical_date": None},
            token=token,
        )
        yield base


@pytest.fixture(scope="module")
def browser_page(api_server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def _shot(page: Any, directory: Path, name: str) -> None:
    """A screenshot of ``page`` (or of one element: a Locator)."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path))
    target = os.environ.get("PIPELINE_REGISTRY_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def test_registry_in_airflows_ui(api_server: str, browser_page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # log in with the simple auth manager's own form
    page.goto(f"{api_server}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)

    # the navigation entry opens the pipelines page inside Airflow's UI
    page.get_by_text("Registry", exact=True).first.click()
    page.wait_for_url(re.compile(r"/plugin/pipeline_registry"))
    frame = page.frame_locator("iframe[title='Registry']")
    pipelines = frame.locator("#pipelines")
    expect(pipelines).to_contain_text("Daily sales")
    expect(pipelines).to_contain_text("Hourly inventory")
    expect(pipelines).to_contain_text("Legacy export")
    expect(pipelines.locator("tr", has_text="inventory_hourly")).to_contain_text("RUNNING")
    expect(frame.locator("body")).to_contain_text("Times in Europe/Paris")
    hover = frame.locator("#pipelines tr", has_text=BIG).locator("time").first
    assert hover.get_attribute("title", timeout=10_000).endswith("UTC")
    _shot(page, tmp_path, "ui-pipelines")

    # filter: only inactive pipelines
    frame.locator("select[name=active]").select_option("false")
    frame.get_by_role("button", name="Filter").click()
    expect(pipelines.locator("tbody tr")).to_have_count(1)
    expect(pipelines).to_contain_text("legacy_export")
    frame.get_by_role("link", name="Clear").click()
    expect(pipelines.locator("tbody tr")).to_have_count(3)

    # a pipeline: config, tables, chart and the newest runs, paged
    frame.get_by_role("link", name=BIG, exact=True).click()
    expect(frame.locator("h1")).to_contain_text("Daily sales")
    expect(frame.locator("#pipeline-config")).to_contain_text("s3://jobs/sales_daily.py")
    expect(frame.locator("#pipeline-config")).to_contain_text("spark.executor.memory")
    tables = frame.locator("#tables")
    expect(tables).to_contain_text("s3://lake/raw/sales/")
    expect(tables.locator("tr", has_text="raw_sales")).to_contain_text("incremental")
    expect(tables.locator("tr", has_text="raw_sales")).to_contain_text("updated_at = 2026-11-30T00:00:00Z")
    expect(tables.locator("tr", has_text="sales_agg")).to_contain_text("delta")
    runs = frame.locator("#runs tbody tr")
    expect(runs).to_have_count(25)
    newest = big_run(BIG_RUNS - 1)
    expect(runs.first).to_contain_text(newest["run_id"])
    expect(runs.first).to_contain_text(newest["spark_application_id"])
    expect(frame.locator("#duration-chart circle.run-dot")).to_have_count(25)
    expect(frame.locator("#duration-chart circle.status-FAILED").first).to_be_attached()
    _shot(page, tmp_path, "ui-pipeline")
    frame.locator("#next-page").click()
    expect(runs.first).to_contain_text(big_run(BIG_RUNS - 26)["run_id"])
    assert "page_token=" in page.url  # the frame's address is mirrored in Airflow's URL

    # a run of the big pipeline: everything of the run log
    frame.locator("a.run-link").first.click()
    run_log = frame.locator("#run-log")
    expect(run_log.locator("#spark-ui-url")).to_have_value(big_run(BIG_RUNS - 26)["spark_ui_url"])
    expect(run_log).to_contain_text("rows_written")

    # the RUNNING run: heartbeat age, then into Airflow's task instance page, and back
    page.goto(f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/")
    frame.locator("#pipelines tr", has_text="inventory_hourly").get_by_role("link", name="RUNNING").click()
    expect(frame.locator("h1")).to_contain_text("inventory_dag/" + RUNNING_DAG_RUN)
    expect(frame.locator("#heartbeat-age")).to_contain_text("ago")
    expect(run_log).to_contain_text("stale")
    _shot(page, tmp_path, "ui-run")
    frame.locator("#task-link").click()
    page.wait_for_url(re.compile(r"/dags/inventory_dag/runs/.+/tasks/spark_job"))
    expect(page.locator("body")).to_contain_text("spark_job")
    expect(page.locator("iframe[title='Registry']")).to_have_count(0)
    page.go_back()
    back = page.frame_locator("iframe[title='Registry']")
    expect(back.locator("#run-log")).to_contain_text(RUNNING_DAG_RUN)
    # no credential of the connection anywhere in what the browser got
    assert SECRET_KEY not in back.locator("html").inner_html()

    # the timezone the user picked in Airflow's UI (kept in localStorage) wins over the connection's
    page.evaluate("window.localStorage.setItem('timezone', JSON.stringify('America/New_York'))")
    page.reload()
    chosen = page.frame_locator("iframe[title='Registry']")
    expect(chosen.locator("#run-log")).to_contain_text("2026-12-01 03:00:00 EST")
    expect(chosen.locator("body")).to_contain_text("Times in America/New_York")

    # an incremental table: its committed watermark on the pipeline page, its history on its own
    # page, and the run that committed it with its from -> to
    page.goto(f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/pipeline?pipeline_id=inventory_hourly")
    inventory = page.frame_locator("iframe[title='Registry']")
    expect(inventory.locator("#tables tr", has_text=WATERMARK_TABLE)).to_contain_text(
        f"updated_at = {WATERMARK_REWOUND}"
    )
    inventory.get_by_role("link", name=WATERMARK_TABLE).click()
    expect(inventory.locator("#committed")).to_contain_text(WATERMARK_REWOUND)
    history = inventory.locator("#watermark-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("rewind")
    expect(history.first).to_contain_text("late rows")
    expect(history.nth(1)).to_contain_text("commit")
    _shot(page, tmp_path, "ui-watermark")
    assert REWIND_REASON_SECRET not in inventory.locator("html").inner_html()
    history.nth(1).get_by_role("link", name=WATERMARK_RUN).click()
    expect(inventory.locator("h1")).to_contain_text(WATERMARK_RUN)
    expect(inventory.locator("#watermarks")).to_contain_text(f"none → {WATERMARK_TO}")

    # nor any secret of the pipeline's config: Airflow masks for admins too
    page.goto(f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/pipeline?pipeline_id={BIG}")
    admin_view = page.frame_locator("iframe[title='Registry']")
    expect(admin_view.locator("#pipeline-config")).to_contain_text("spark.hadoop.fs.s3a.secret.key")
    _assert_no_seeded_secret(admin_view.locator("html").inner_html(), "the admin's pipeline page")


def _assert_no_seeded_secret(text: str, where: str) -> None:
    for secret in SEEDED_SECRETS:
        assert secret not in text, f"{secret} shown in {where}"


def test_a_viewer_sees_no_secret_of_the_config(api_server: str, browser_page: Any, tmp_path: Path) -> None:
    """A Viewer logged in through Airflow's own form: the pipeline page and the JSON API, read with
    the session's cookie, show the keys of the secret values but never the values."""
    from playwright.sync_api import expect

    context = browser_page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{api_server}/")
        page.fill("input[name=username]", "viewer")
        page.fill("input[name=password]", VIEWER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/auth/login" not in url)

        page.goto(f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/pipeline?pipeline_id={BIG}")
        frame = page.frame_locator("iframe[title='Registry']")
        config = frame.locator("#pipeline-config")
        expect(config).to_contain_text("spark.hadoop.fs.s3a.secret.key")  # control: the viewer reads the config
        expect(config).to_contain_text("--db-password ***")
        expect(config).to_contain_text('"api_token": "***"')
        expect(frame.locator("#tables")).to_contain_text("s3a://***@lake/mart/sales_agg/")
        _shot(page, tmp_path, "ui-pipeline-viewer")
        _assert_no_seeded_secret(frame.locator("html").inner_html(), "the viewer's pipeline page")

        for path in (f"pipeline?pipeline_id={BIG}", f"tables?pipeline_id={BIG}", "pipelines"):
            response = page.goto(f"{api_server}/pipeline-registry/api/v1/{path}")
            assert response is not None, path
            assert response.status == 200, path
            body = response.text()
            assert BIG in body  # control: the viewer's session reads the API
            _assert_no_seeded_secret(body, f"the API's {path} to a viewer")
    finally:
        context.close()


def _doc_pages() -> Any:
    """tests/docs/doc_pages.py (where the docs live), loaded by path: tests/docs is no package."""
    if "doc_pages" in sys.modules:
        return sys.modules["doc_pages"]
    path = Path(__file__).resolve().parents[1] / "docs" / "doc_pages.py"
    spec = importlib.util.spec_from_file_location("doc_pages", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_pages"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _doc_block(marker: str) -> str:
    """The code block after ``<!-- marker -->`` in the docs: the UI page (docs/ui.md) first, then
    any other page holding it (``doc_pages.doc_files()``)."""
    doc_pages = _doc_pages()
    ui_page = doc_pages.DOCS_DIR / "ui.md"
    for path in sorted(doc_pages.doc_files(), key=lambda p: p != ui_page):
        found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w+\n(.*?)\n```", path.read_text(encoding="utf-8"), re.S)
        if found is not None:
            return found.group(1)
    raise AssertionError(f"no docs page has a block after <!-- {marker} -->")


@pytest.mark.parametrize("language", ["bash", "python"])
def test_docs_api_examples_run(api_server: str, language: str) -> None:
    env = {**os.environ, "AIRFLOW_URL": api_server, "AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": PASSWORD}
    command = ["bash", "-euo", "pipefail", "-c"] if language == "bash" else [sys.executable, "-c"]
    done = subprocess.run(
        [*command, _doc_block(f"ui-api-example:{language}")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    if language == "bash":
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 5
        assert all(" FAILED sales_daily/" in line for line in lines)
    else:
        assert "sales_daily SUCCESS" in done.stdout
        assert "inventory_hourly RUNNING" in done.stdout
        assert f"{BIG_RUNS} runs of sales_daily" in done.stdout


SPARK_UI_PAGE = "Spark History Server: app-r3"


def _login(page: Any, api_server: str, username: str, password: str) -> None:
    page.goto(f"{api_server}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)


def _colours(frame: Any) -> dict[str, str]:
    return dict(
        frame.locator("html").evaluate(
            """root => ({
                mode: root.className,
                airflow_bg: (() => {
                    for (let el = window.frameElement; el; el = el.parentElement) {
                        const bg = window.top.getComputedStyle(el).backgroundColor;
                        if (bg !== "rgba(0, 0, 0, 0)") { return bg; }
                    }
                    return null;
                })(),
                airflow_fg: window.top.getComputedStyle(window.frameElement).color,
                bg: getComputedStyle(document.body).backgroundColor,
                fg: getComputedStyle(document.body).color,
                font: getComputedStyle(document.body).fontFamily,
                success: getComputedStyle(document.querySelector(".status-SUCCESS")).backgroundColor,
                failed: getComputedStyle(document.querySelector(".status-FAILED")).backgroundColor,
            })"""
        )
    )


def test_the_registry_tab_on_airflows_task_page(
    api_server: str, browser_page: Any, seeded_registry: Registry, tmp_path: Path
) -> None:
    """A Viewer on Airflow's task instance page of a retried run: one click on the "Registry" tab
    shows each try (times, status, error head and tail, Spark app); the Spark UI opens from inside
    the sandboxed iframe; the tab follows Airflow's colour mode (light, dark) and works at 390 px."""
    from playwright.sync_api import expect

    run = retried_run()
    report = seeded_registry.runs_write.batch_upsert([run])
    assert report.ok, report.failed
    token = _post_json(f"{api_server}/auth/token", {"username": "admin", "password": PASSWORD})["access_token"]
    _post_json(
        f"{api_server}/api/v2/dags/inventory_dag/dagRuns",
        {"dag_run_id": RETRIED_DAG_RUN, "logical_date": None},
        token=token,
    )
    context = browser_page.context.browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api_server)
        page = context.new_page()
        page.set_default_timeout(60_000)
        # the Spark history server of the run (an unreachable host here): answered by the browser
        page.route(
            "http://spark-history.example:18080/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body=f"<h1>{SPARK_UI_PAGE}</h1>"),
        )
        _login(page, api_server, "viewer", VIEWER_PASSWORD)

        # Airflow's task instance page -> one click on the registry's tab
        page.goto(f"{api_server}/dags/inventory_dag/runs/{RETRIED_DAG_RUN}/tasks/spark_job")
        page.locator("a[href*='pipeline_registry_task_instance']").first.click()
        page.wait_for_url(re.compile(r"/tasks/spark_job/plugin/pipeline_registry_task_instance"))
        frame = page.frame_locator("iframe[title='Registry']")
        attempts = frame.locator("#attempts tbody tr")
        expect(attempts).to_have_count(3, timeout=60_000)
        expect(attempts.nth(0)).to_contain_text("FAILED")
        expect(attempts.nth(0)).to_contain_text("app-r1")
        expect(attempts.nth(0)).to_contain_text(RETRIED_OOM)  # the tail of a 3 KB error, in the row
        expect(attempts.nth(1)).to_contain_text(RETRIED_TIMEOUT)
        expect(attempts.nth(2)).to_contain_text("SUCCESS")
        expect(attempts.nth(2)).to_contain_text("2m00s")
        expect(frame.locator("#retried")).to_contain_text("3 tries, 25m00s since the first")
        light = _colours(frame)
        assert "light" in light["mode"]
        assert light["airflow_bg"] is not None
        assert light["bg"] == light["airflow_bg"]  # the background behind the frame, Airflow's text colour
        assert light["fg"] == light["airflow_fg"]
        assert light["font"].startswith("Inter")
        assert light["success"] == "rgb(22, 163, 74)"  # Airflow's success (green.600)
        assert light["failed"] == "rgb(220, 38, 38)"  # Airflow's failed (red.600)
        _shot(page, tmp_path, "ui-task-tab-light")

        # the whole error of a try, unfolded
        attempts.nth(0).locator("summary").click()
        expect(attempts.nth(0).locator("pre")).to_contain_text("Job aborted due to stage failure")

        # Copy URL, then the Spark UI in the same tab (the sandbox has no allow-popups) and back
        spark = frame.locator("#spark-ui")
        spark.get_by_role("button", name="Copy URL").click()
        expect(spark.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == run["spark_ui_url"]
        expect(frame.locator("#spark-ui-url")).to_have_value(run["spark_ui_url"])
        spark.locator("a.spark-link").click()
        page.wait_for_url(run["spark_ui_url"])
        expect(page.locator("h1")).to_have_text(SPARK_UI_PAGE)
        page.go_back()
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3, timeout=60_000)  # Airflow's UI reloads

        # Airflow in dark mode (it follows the system's here): the tab follows, without a reload
        page.emulate_media(color_scheme="dark")
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
        expect(frame.locator("html")).to_have_class(re.compile(r"\bdark\b"))
        dark = _colours(frame)
        assert dark["bg"] == dark["airflow_bg"]
        assert dark["fg"] == dark["airflow_fg"]
        assert dark["bg"] != light["bg"]
        assert dark["success"] == "rgb(22, 163, 74)"
        _shot(page, tmp_path, "ui-task-tab-dark")

        # the dag run page has the tab too; the retried run is marked in the runs table and chart
        page.goto(f"{api_server}/dags/inventory_dag/runs/{RETRIED_DAG_RUN}")
        page.locator("a[href*='pipeline_registry_dag_run']").first.click()
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3, timeout=60_000)
        frame.locator(".crumbs a").nth(1).click()
        row = frame.locator("#runs tbody tr", has_text=RETRIED_DAG_RUN)
        expect(row).to_contain_text("retried: 3 tries, 25m00s in all", timeout=60_000)
        expect(frame.locator("#duration-chart circle.retry-ring")).to_have_count(1)
        _shot(page, tmp_path, "ui-pipeline-dark")

        # a phone: 390 px wide, Airflow's navigation on the left leaves the frame about 320 px;
        # nothing is wider than the frame (tables scroll in their own box), the fields stack
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 390, "height": 844})
        query = urllib.parse.urlencode({"pipeline_id": run["pipeline_id"], "run_id": run["run_id"]})
        page.goto(f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/run?{query}")
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3, timeout=60_000)
        widths = frame.locator("html").evaluate(
            "root => [root.scrollWidth, root.clientWidth, document.querySelector('#run-log').scrollWidth]"
        )
        assert widths[1] < 390, widths  # control: the frame is narrower than the phone
        assert widths[0] <= widths[1], widths  # the page itself does not scroll sideways
        assert widths[2] <= widths[1], widths  # the run's fields fit (one column)
        expect(frame.locator("#run-log")).to_contain_text("Open the Spark UI")
        expect(frame.locator("#run-log time").first).to_be_in_viewport()
        _shot(page, tmp_path, "ui-task-tab-390")
    finally:
        context.close()
        seeded_registry.runs_write.delete(run["run_id"], run["pipeline_id"])


#: the pipelines the items test adds (removed after it)
SPIKY = "spiky_hourly"
BAD_TABLE_PIPELINE = "with_bad_table"
#: the screenshots of the docs: every item in both colour modes, at most this size
SHOT_VIEWPORT = {"width": 1280, "height": 800}


def _in_mode(page: Any, frame: Any, mode: str) -> None:
    """Airflow (following the system's colour scheme here) and the registry's frame in ``mode``."""
    from playwright.sync_api import expect

    page.emulate_media(color_scheme=mode)
    expect(page.locator("html")).to_have_class(re.compile(rf"\b{mode}\b"))
    expect(frame.locator("html")).to_have_class(re.compile(rf"\b{mode}\b"))


def _both_modes(page: Any, frame: Any, directory: Path, name: str) -> None:
    """Screenshots ``<name>-light`` and ``<name>-dark`` of what ``page`` shows; back to light."""
    for mode in ("light", "dark"):
        _in_mode(page, frame, mode)
        _shot(page, directory, f"{name}-{mode}")
    _in_mode(page, frame, "light")


def _frame_overflow(frame: Any, visible: int | None = None) -> dict[str, Any]:
    """What is wider than the registry's frame (or than ``visible`` px, when less): the page's scroll
    width, the elements whose right edge passes that width, and the boxes that scroll sideways."""
    return dict(
        frame.locator("html").evaluate(
            """(root, visible) => {
                const width = Math.min(root.clientWidth, visible || root.clientWidth);
                const narrow = root.classList.contains("narrow");
                const wider = [];
                for (const el of document.body.querySelectorAll("*")) {
                    const box = el.getBoundingClientRect();
                    if (box.width > 0 && box.right > width + 0.5) {
                        wider.push(el.tagName + (el.id ? "#" + el.id : "") + "." + el.className + " " + box.right);
                    }
                }
                const scrolling = [...document.querySelectorAll(".scroll, pre, td, dd")]
                    .filter(el => el.scrollWidth > el.clientWidth + 1)
                    .map(el => el.tagName + (el.id ? "#" + el.id : "") + " " + el.scrollWidth + ">" + el.clientWidth);
                const scrollWidth = root.scrollWidth;
                const frameWidth = root.clientWidth;
                return {width, frameWidth, scrollWidth, narrow, wider: wider.slice(0, 10),
                        scrolling: scrolling.slice(0, 10)};
            }""",
            visible,
        )
    )


def test_every_item_in_both_colour_modes_and_at_390_px(
    api_server: str, browser_page: Any, seeded_registry: Registry, tmp_path: Path
) -> None:
    """A Viewer walks the issue's items, each in light and dark (the docs' screenshots): the
    pipelines list with a pipeline that has runs but no config, a search, a chart with its usual
    band where one 50x outlier does not flatten the other runs, a pipeline whose one bad table
    item shows as such under its config, a run with its attempts, and the Registry tab on
    Airflow's task page at 390 px (nothing in the frame wider than the frame)."""
    from playwright.sync_api import expect

    registry = seeded_registry
    registry.pipelines_write.create({"pipeline_id": SPIKY, "name": "Spiky hourly", "owner": "ops"})
    assert registry.runs_write.batch_upsert(outlier_runs(SPIKY)).ok
    registry.pipelines_write.create(
        {
            "pipeline_id": BAD_TABLE_PIPELINE,
            "name": "With a bad table",
            "owner": "ops",
            "spark_application": "s3://j.py",
        }
    )
    registry.tables_write.create(
        {"table_id": "bt_good", "pipeline_id": BAD_TABLE_PIPELINE, "table_name": "good", "role": "source"}
    )
    registry.tables_write.create(
        {"table_id": "bt_bad", "pipeline_id": BAD_TABLE_PIPELINE, "table_name": "bad", "role": "target"}
    )
    tables = registry.tables.gateway.table_name
    stored = registry.client.get_item(TableName=tables, Key={"table_id": {"S": "bt_bad"}}, ConsistentRead=True)
    registry.client.put_item(TableName=tables, Item={**stored["Item"], "role": {"S": "sideways"}})  # another tool
    retried = retried_run()
    assert registry.runs_write.batch_upsert([retried]).ok
    token = _post_json(f"{api_server}/auth/token", {"username": "admin", "password": PASSWORD})["access_token"]
    try:
        _post_json(
            f"{api_server}/api/v2/dags/inventory_dag/dagRuns",
            {"dag_run_id": RETRIED_DAG_RUN, "logical_date": None},
            token=token,
        )
    except urllib.error.HTTPError as exc:
        if exc.code != 409:  # 409: the tab test made it already
            raise
    context = browser_page.context.browser.new_context(viewport=SHOT_VIEWPORT, color_scheme="light")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        _login(page, api_server, "viewer", VIEWER_PASSWORD)
        pages = f"{api_server}/plugin/pipeline_registry/pipeline-registry/ui/"

        # the pipelines list, and the pipeline with runs but no config
        page.goto(pages)
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#pipelines")).to_contain_text(SPIKY)
        orphan = frame.locator("#orphans tr", has_text=ORPHAN)
        expect(orphan).to_contain_text("no config")
        _both_modes(page, frame, tmp_path, "ui-pipelines")
        orphan.get_by_role("link", name=ORPHAN).click()
        expect(frame.locator("#no-config")).to_contain_text("no config")
        expect(frame.locator("#runs a.run-link")).to_have_count(2)
        _both_modes(page, frame, tmp_path, "ui-orphan")

        # search
        page.goto(pages)
        frame = page.frame_locator("iframe[title='Registry']")
        frame.locator("input[name=search]").fill("inventory")
        frame.get_by_role("button", name="Filter").click()
        expect(frame.locator("#pipelines tbody tr")).to_have_count(1)
        expect(frame.locator("#pipelines")).to_contain_text("Hourly inventory")
        _both_modes(page, frame, tmp_path, "ui-search")

        # the chart: the usual band, and one 50x outlier at the top edge not flattening the rest
        page.goto(f"{pages}pipeline?pipeline_id={SPIKY}")
        frame = page.frame_locator("iframe[title='Registry']")
        chart = frame.locator("#duration-chart")
        expect(chart.locator("circle.run-dot")).to_have_count(11)
        geometry = chart.evaluate(
            """svg => {
                const box = svg.getBoundingClientRect();
                const dots = [...svg.querySelectorAll("circle.run-dot")].map(c => c.getBoundingClientRect());
                const band = svg.querySelector("#usual-band").getBoundingClientRect();
                const axis = svg.querySelector("line.x-axis").getBoundingClientRect();
                return {
                    height: box.height,
                    axis: axis.top,
                    dotCentres: dots.map(d => d.top + d.height / 2),
                    band: [band.top, band.height],
                };
            }"""
        )
        centres = geometry["dotCentres"]
        axis = geometry["axis"]
        # on a linear axis up to 3,000 s the 60-115 s runs would all sit within 6 px of the axis
        assert max(centres) - min(centres) > 15, geometry
        assert axis - min(centres) > 30, geometry
        assert geometry["band"][1] > 5, geometry  # the band is drawn, with a height
        outlier = chart.locator("g.run-dot.clipped")
        expect(outlier).to_have_count(1)
        expect(outlier).to_contain_text("50.0 min")
        expect(outlier.locator("title")).to_contain_text("off the scale")
        expect(chart.locator("#usual-band title")).to_contain_text("usual: median")
        frame.locator("#usual").evaluate('el => el.scrollIntoView({block: "start"})')
        _both_modes(page, frame, tmp_path, "ui-chart")

        # one bad table item: the config and the good table shown, the bad one named by its key
        page.goto(f"{pages}pipeline?pipeline_id={BAD_TABLE_PIPELINE}")
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#pipeline-config")).to_contain_text("s3://j.py")
        expect(frame.locator("#tables")).to_contain_text("bt_good")
        expect(frame.locator("#tables tr.bad-item")).to_contain_text("table_id='bt_bad'")
        expect(frame.locator("#tables tr.bad-item")).to_contain_text("role")
        _both_modes(page, frame, tmp_path, "ui-bad-item")

        # a run with its attempts
        query = urllib.parse.urlencode({"pipeline_id": retried["pipeline_id"], "run_id": retried["run_id"]})
        page.goto(f"{pages}run?{query}")
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3)
        _both_modes(page, frame, tmp_path, "ui-run-attempts")

        # the Registry tab on Airflow's task page, then the same at 390 px
        page.goto(f"{api_server}/dags/inventory_dag/runs/{RETRIED_DAG_RUN}/tasks/spark_job")
        page.locator("a[href*='pipeline_registry_task_instance']").first.click()
        page.wait_for_url(re.compile(r"/plugin/pipeline_registry_task_instance"))
        tab_url = page.url
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(tab_url)
        frame = page.frame_locator("iframe[title='Registry']")
        expect(frame.locator("#attempts tbody tr")).to_have_count(3)
        airflow = page.evaluate(
            """() => {
                const frame = document.querySelector("iframe[title='Registry']");
                let box = null;
                for (let el = frame.parentElement; el && box === null; el = el.parentElement) {
                    const ox = getComputedStyle(el).overflowX;
                    if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth) { box = el; }
                }
                return {viewport: window.innerWidth, frame: frame.getBoundingClientRect().width,
                        frame_left: frame.getBoundingClientRect().left,
                        box: box ? box.clientWidth : null, box_content: box ? box.scrollWidth : null};
            }"""
        )
        print(f"Airflow's task page at 390 px: {airflow}")  # the docs quote these

        # scrolled to the tab as a user would (Airflow's box scrolls sideways)
        page.evaluate(
            """() => {
                const frame = document.querySelector("iframe[title='Registry']");
                for (let el = frame.parentElement; el; el = el.parentElement) {
                    const ox = getComputedStyle(el).overflowX;
                    if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth) {
                        el.scrollLeft += frame.getBoundingClientRect().left - el.getBoundingClientRect().left;
                        return;
                    }
                }
            }"""
        )
        for mode in ("light", "dark"):
            _in_mode(page, frame, mode)
            # Airflow 3.3 lays the task page out at least 1280 px wide in a box scrolling sideways
            # next to its navigation rail: the tab's frame is wider than the phone (its chrome, not
            # ours); the tab keeps to the width of that box, so scrolled to the tab it all shows
            overflow = _frame_overflow(frame, airflow["box"])
            assert airflow["frame"] > 390, airflow  # control: Airflow's frame is wider than the phone
            assert overflow["scrollWidth"] <= overflow["frameWidth"], overflow  # no sideways scroll in the frame
            assert overflow["wider"] == [], overflow  # nothing passes the visible width
            assert overflow["scrolling"] == [], overflow  # no box scrolls sideways inside it either
            assert overflow["narrow"], overflow
            expect(frame.locator("#attempts tbody tr").first.locator("td.error")).to_contain_text("OutOfMemoryError")
            expect(frame.locator("#attempts tbody tr").first.locator("time").first).to_be_visible()
            _shot(page, tmp_path, f"ui-tab-390-{mode}")
        _in_mode(page, frame, "light")
    finally:
        context.close()
        registry.runs_write.delete(retried["run_id"], retried["pipeline_id"])
        for run in outlier_runs(SPIKY):
            registry.runs_write.delete(run["run_id"], run["pipeline_id"])
        for table_id in ("bt_good", "bt_bad"):
            registry.client.delete_item(TableName=tables, Key={"table_id": {"S": table_id}})
        for pipeline in (SPIKY, BAD_TABLE_PIPELINE):
            registry.client.delete_item(
                TableName=registry.pipelines.gateway.table_name, Key={"pipeline_id": {"S": pipeline}}
            )
