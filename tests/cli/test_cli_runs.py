"""``pipeline-registry runs list|show|watch``."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_harness import Cli
from registry_fixtures import new_prefix, registry_on
from typer.testing import CliRunner

from airflow_provider_pipeline_registry.cli.commands import runs as runs_module
from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration

BASE = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def history(dynamodb_endpoint: str) -> Cli:
    """A CLI on tables shared by this module's read-only tests: 25 finished runs of ``etl``, one
    an hour from BASE (every third one FAILED), and one run of ``other``."""
    prefix = new_prefix()
    registry = registry_on(dynamodb_endpoint, prefix)
    runs = [
        {
            "run_id": f"etl-{i:02d}",
            "pipeline_id": "etl",
            "status": "FAILED" if i % 3 == 0 else "SUCCESS",
            "start_time": BASE + timedelta(hours=i),
            "end_time": BASE + timedelta(hours=i, minutes=5),
            "error_type": "SparkException" if i % 3 == 0 else None,
        }
        for i in range(25)
    ]
    runs.append({"run_id": "other-1", "pipeline_id": "other", "status": "SUCCESS", "start_time": BASE})
    assert registry.runs_write.batch_upsert(runs).ok
    return Cli(dynamodb_endpoint, prefix, CliRunner())


def ids(payload: dict[str, Any]) -> list[str]:
    return [r["run_id"] for r in payload["runs"]]


def test_list_pages_newest_first(history: Cli) -> None:
    cli = history
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        args = ["runs", "list", "--pipeline", "etl", "--limit", "10"]
        page = cli.json(*args, *(["--page-token", token] if token else []))
        seen += ids(page)
        pages += 1
        token = page["next_page_token"]
        if token is None:
            break
    assert pages == 3
    assert seen == [f"etl-{i:02d}" for i in range(24, -1, -1)]


def test_list_filters(history: Cli) -> None:
    cli = history
    failed = cli.json("runs", "list", "--pipeline", "etl", "--status", "failed", "--limit", "100")
    assert ids(failed) == [f"etl-{i:02d}" for i in (24, 21, 18, 15, 12, 9, 6, 3, 0)]

    window = cli.json(
        "runs", "list", "-p", "etl", "--since", "2026-03-07T20:00:00Z", "--until", "2026-03-07T22:30:00+00:00"
    )
    assert ids(window) == ["etl-10", "etl-09", "etl-08"]

    # a naive time is read in --tz: 01:00 EST is 06:00 UTC, the start of etl-18
    naive = cli.json("runs", "list", "-p", "etl", "--since", "2026-03-08T01:00", tz="America/New_York")
    assert ids(naive) == [f"etl-{i:02d}" for i in range(24, 17, -1)]
    assert naive["runs"][0]["start_time"] == "2026-03-08T08:00:00-04:00"  # shown in --tz (after the DST switch)
    assert naive["runs"][0]["display_timezone"] == "America/New_York"

    several = cli.json("runs", "list", "-p", "etl", "-s", "FAILED", "-s", "SUCCESS", "--limit", "3")
    assert ids(several) == ["etl-24", "etl-23", "etl-22"]


def test_relative_times_and_a_token_that_keeps_its_window(cli: Cli, registry: Registry) -> None:
    now = datetime.now(UTC)
    ages = {
        "r-1h": timedelta(hours=1),
        "r-5h": timedelta(hours=5),
        "r-3d": timedelta(days=3),
        "r-9d": timedelta(days=9),
    }
    runs = [
        {"run_id": r, "pipeline_id": "rel", "status": "SUCCESS", "start_time": now - age} for r, age in ages.items()
    ]
    assert registry.runs_write.batch_upsert(runs).ok

    assert ids(cli.json("runs", "list", "-p", "rel", "--since", "2h")) == ["r-1h"]
    # the core's one time grammar (registry/time_inputs.py): compound ages and "now"
    assert ids(cli.json("runs", "list", "-p", "rel", "--since", "1h30m", "--until", "now")) == ["r-1h"]
    first = cli.json("runs", "list", "-p", "rel", "--since", "4d", "--until", "2h", "--limit", "1")
    assert ids(first) == ["r-5h"]
    second = cli.json("runs", "list", "-p", "rel", "--limit", "1", "--page-token", first["next_page_token"])
    assert ids(second) == ["r-3d"]


def test_list_human_output_prints_the_next_page_token(history: Cli) -> None:
    cli = history
    result = cli("runs", "list", "--pipeline", "etl", "--limit", "2", tz="Europe/Paris")
    assert result.exit_code == 0, result.output
    assert "etl-24" in result.stdout
    assert "etl-23" in result.stdout
    assert "etl-22" not in result.stdout
    assert "2026-03-08 13:00:00 CET (12:00:00 UTC)" in result.stdout  # etl-24 started at 12:00 UTC
    assert "next page: --page-token " in result.stdout


@pytest.mark.parametrize(
    ("args", "tz", "needle"),
    [
        (["--since", "yesterday-ish"], None, "since"),
        (["--since", "2026-03-08T02:30"], "America/New_York", "daylight-saving gap"),
        (["--since", "2026-03-09", "--until", "2026-03-08"], None, "since must not be after until"),
        (["--page-token", "garbage"], None, "page token is malformed"),
    ],
)
def test_list_bad_input_is_a_validation_error(history: Cli, args: list[str], tz: str | None, needle: str) -> None:
    cli = history
    result = cli("runs", "list", "-p", "etl", *args, tz=tz)
    assert result.exit_code == ExitCode.VALIDATION, result.output
    assert needle in result.stderr


def test_unknown_status_is_a_usage_error(history: Cli) -> None:
    cli = history
    result = cli("runs", "list", "-p", "etl", "--status", "EXPLODED")
    assert result.exit_code == ExitCode.USAGE


def test_show(history: Cli) -> None:
    cli = history
    run = cli.json("runs", "show", "etl-03", "--pipeline", "etl", tz="Asia/Kolkata")
    assert run["status"] == "FAILED"
    assert run["error_type"] == "SparkException"
    assert run["start_time"] == "2026-03-07T20:30:00+05:30"
    assert run["duration_seconds"] == 300.0

    human = cli("runs", "show", "etl-03", "--pipeline", "etl", tz="Asia/Kolkata")
    assert human.exit_code == 0
    assert "2026-03-07 20:30:00 IST (15:00:00 UTC)" in human.stdout
    assert "5m00s" in human.stdout

    missing = cli("runs", "show", "etl-03", "--pipeline", "other")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert "not found" in missing.stderr


def _start(registry: Registry, run_id: str) -> None:
    registry.runs_write.start({"run_id": run_id, "pipeline_id": "live"})


def _finish_after_first_poll(
    monkeypatch: pytest.MonkeyPatch, registry: Registry, run_id: str, status: str
) -> threading.Thread:
    """Finish the run from another thread once ``runs watch`` has read it RUNNING and gone to sleep."""
    polled = threading.Event()
    real_sleep = time.sleep

    def observed_sleep(seconds: float) -> None:
        polled.set()
        real_sleep(seconds)

    monkeypatch.setattr(runs_module, "_sleep", observed_sleep)

    def finisher() -> None:
        if polled.wait(timeout=60):
            registry.runs_write.finish({"run_id": run_id, "pipeline_id": "live", "status": status})

    thread = threading.Thread(target=finisher, daemon=True)
    thread.start()
    return thread


def test_watch_until_success(cli: Cli, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    _start(registry, "w-ok")
    thread = _finish_after_first_poll(monkeypatch, registry, "w-ok", "SUCCESS")
    result = cli("runs", "watch", "w-ok", "--pipeline", "live", "--interval", "0.05")
    thread.join(timeout=60)
    assert result.exit_code == 0, result.output
    progress = result.stderr
    assert progress.index("RUNNING") < progress.index("SUCCESS")
    assert "SUCCESS" in result.stdout  # the final run


def test_watch_until_failure_exits_8(cli: Cli, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    _start(registry, "w-bad")
    thread = _finish_after_first_poll(monkeypatch, registry, "w-bad", "FAILED")
    result = cli("runs", "watch", "w-bad", "--pipeline", "live", "--interval", "0.05", "--json")
    thread.join(timeout=60)
    assert result.exit_code == ExitCode.RUN_NOT_SUCCESSFUL, result.output
    assert json.loads(result.stdout)["status"] == "FAILED"


def test_watch_timeout_exits_9(cli: Cli, registry: Registry) -> None:
    _start(registry, "w-slow")
    result = cli("runs", "watch", "w-slow", "--pipeline", "live", "--interval", "0.05", "--timeout", "0.2")
    assert result.exit_code == ExitCode.WATCH_TIMEOUT, result.output
    assert "still RUNNING" in result.stderr


def _configure_live(registry: Registry) -> None:
    """The config of ``live``: a watch of a run that has not started waits only for a known pipeline."""
    registry.pipelines_write.create({"pipeline_id": "live", "name": "Live"})


def test_watch_of_a_run_that_never_starts_times_out(cli: Cli, registry: Registry) -> None:
    _configure_live(registry)
    result = cli("runs", "watch", "ghost", "--pipeline", "live", "--interval", "0.05", "--timeout", "0.3")
    assert result.exit_code == ExitCode.WATCH_TIMEOUT, result.output
    assert "has not started" in result.stderr
    assert "runs list -p live" in result.stderr


def test_watch_waits_for_the_start_shows_heartbeats_and_the_error(
    cli: Cli, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poll's sleep moves the run one step on: start, heartbeat with metrics, FAILED."""
    steps = [
        lambda: registry.runs_write.start({"run_id": "w-late", "pipeline_id": "live", "try_number": 1}),
        lambda: registry.runs_write.heartbeat("w-late", "live", metrics={"rows_read": 1200}),
        lambda: registry.runs_write.finish(
            {
                "run_id": "w-late",
                "pipeline_id": "live",
                "status": "FAILED",
                "error_type": "ValueError",
                "error_message": "bad row 17",
            }
        ),
    ]

    def step_then_sleep(seconds: float) -> None:
        if steps:
            steps.pop(0)()

    monkeypatch.setattr(runs_module, "_sleep", step_then_sleep)
    _configure_live(registry)
    result = cli("runs", "watch", "w-late", "--pipeline", "live", "--interval", "0.01", "--timeout", "120")
    assert result.exit_code == ExitCode.RUN_NOT_SUCCESSFUL, result.output
    err = result.stderr
    assert err.index("has not started") < err.index("RUNNING") < err.index("heartbeat") < err.index("FAILED")
    assert '"rows_read": 1200' in err
    assert "error: run w-late ended FAILED: ValueError: bad row 17" in err
    assert "bad row 17" in result.stdout  # the final run detail


def test_watch_of_an_unknown_pipeline_fails_at_once_with_the_closest_ids(cli: Cli, registry: Registry) -> None:
    """Issue 21 item 10: a typo in --pipeline is exit 3 on the first read, not a wait to --timeout
    (without --timeout the old code waited for ever; here it would have ended with exit 9)."""
    for pipeline_id in ("sales_daily", "sales_weekly", "customers"):
        registry.pipelines_write.create({"pipeline_id": pipeline_id, "name": pipeline_id})
    result = cli("runs", "watch", "r-1", "-p", "sales_dialy", "--interval", "0.05", "--timeout", "5")
    assert result.exit_code == ExitCode.NOT_FOUND, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "pipeline 'sales_dialy' does not exist (no config, no runs)" in errors[0]
    assert "closest ids: 'sales_daily', 'sales_weekly'" in errors[0]
    assert "has not started" not in result.stderr  # it never said it was waiting


def test_watch_of_a_run_of_a_pipeline_with_runs_but_no_config_waits(cli: Cli, registry: Registry) -> None:
    registry.runs_write.start({"run_id": "older", "pipeline_id": "config_removed"})
    result = cli("runs", "watch", "r-2", "-p", "config_removed", "--interval", "0.05", "--timeout", "0.3")
    assert result.exit_code == ExitCode.WATCH_TIMEOUT, result.output


def test_watch_allow_unknown_waits_for_a_pipeline_created_later(
    cli: Cli, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [
        lambda: None,  # a second look at nothing
        lambda: registry.pipelines_write.create({"pipeline_id": "later", "name": "Later"}),
        lambda: registry.runs_write.start({"run_id": "r-3", "pipeline_id": "later"}),
        lambda: registry.runs_write.finish({"run_id": "r-3", "pipeline_id": "later", "status": "SUCCESS"}),
    ]
    monkeypatch.setattr(runs_module, "_sleep", lambda seconds: steps.pop(0)() if steps else None)
    args = ("runs", "watch", "r-3", "-p", "later", "--interval", "0.01", "--timeout", "120")
    result = cli(*args, "--allow-unknown")
    assert result.exit_code == 0, result.output
    assert "has not started" in result.stderr
    assert "SUCCESS" in result.stdout


def test_list_of_an_unknown_pipeline_says_it_does_not_exist(history: Cli) -> None:
    result = history("runs", "list", "-p", "no_such_pipeline")
    assert result.exit_code == ExitCode.NOT_FOUND, result.output
    assert "pipeline 'no_such_pipeline' does not exist" in result.stderr
    typo = history("runs", "list", "-p", "elt")  # runs recorded under 'etl' and 'other', no config
    assert typo.exit_code == ExitCode.NOT_FOUND, typo.output
    assert "pipeline 'elt' does not exist (no config, no runs)" in typo.stderr
    # a pipeline that has runs is not unknown, even when the window holds none
    empty = history("runs", "list", "-p", "etl", "--since", "2030-01-01", "--json")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout)["runs"] == []


def test_status_choices_are_the_run_statuses() -> None:
    from airflow_provider_pipeline_registry.registry import RunStatus

    assert [c.value for c in runs_module.StatusChoice] == [s.value for s in RunStatus]


def test_show_lists_the_previous_attempts(dynamodb_endpoint: str) -> None:
    prefix = new_prefix()
    registry = registry_on(dynamodb_endpoint, prefix)
    first = registry.runs_write.start({"run_id": "r", "pipeline_id": "etl", "task_id": "start", "start_time": BASE})
    registry.runs_write.heartbeat("r", "etl", spark={"spark_application_id": "application_1_0001"})
    registry.runs_write.finish(
        {
            "run_id": "r",
            "pipeline_id": "etl",
            "status": "FAILED",
            "error_type": "SparkException",
            "error_message": "lost",
        }
    )
    registry.runs_write.start({"run_id": "r", "pipeline_id": "etl", "task_id": "start", "try_number": 2})
    cli = Cli(dynamodb_endpoint, prefix, CliRunner())
    human = cli("runs", "show", "r", "--pipeline", "etl", tz="Asia/Kolkata")
    assert human.exit_code == 0, human.stderr
    assert "1 previous attempt(s)" in human.stdout
    assert "SparkException: lost" in human.stdout
    assert "application_1_0001" in human.stdout
    assert "2026-03-07 17:30:00 IST (12:00:00 UTC)" in human.stdout  # the previous attempt's start
    payload = cli.json("runs", "show", "r", "--pipeline", "etl", tz="Asia/Kolkata")
    (previous,) = payload["attempts"]
    assert (previous["attempt_id"], previous["try_number"], previous["status"]) == (first.attempt_id, 1, "FAILED")
    assert previous["start_time"] == "2026-03-07T17:30:00+05:30"
