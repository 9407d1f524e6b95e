"""``pipeline-registry tables watermark|rewind`` against DynamoDB Local: the committed value, its
history, a rewind (and its dry run), and the exit codes of the errors."""

from __future__ import annotations

import json

import pytest
from conftest import Cli

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.run_logger import PipelineRunLogger

pytestmark = pytest.mark.integration

TABLE = "orders.raw"
SECRET_REASON = "replay after https://bob:hunter2@example.com/x fix"


@pytest.fixture
def orders(cli: Cli, registry: Registry) -> Registry:
    """Pipeline ``orders`` with an integer-watermarked source, committed by runs r1 (None -> 10) and
    r2 (10 -> 25)."""
    registry.pipelines_write.create({"pipeline_id": "orders", "name": "Orders"})
    registry.tables_write.create(
        {
            "table_id": TABLE,
            "pipeline_id": "orders",
            "table_name": "raw",
            "load_type": "incremental",
            "watermark_column": "order_id",
            "watermark_type": "integer",
        }
    )
    for run_id, high in (("r1", 10), ("r2", 25)):
        commit(registry, run_id, high)
    return registry


def commit(registry: Registry, run_id: str, high: int) -> None:
    """A driver's run that reads the committed low bound and advances it, ending SUCCESS."""
    with PipelineRunLogger(
        pipeline_id="orders", run_id=run_id, registry=registry, heartbeat_interval=3600, handle_sigterm=False
    ) as run:
        run.advance_watermark(TABLE, high)


def test_watermark_shows_the_committed_value_and_history_newest_first(cli: Cli, orders: Registry) -> None:
    data = cli.json("tables", "watermark", TABLE)
    assert data["table_id"] == TABLE
    assert data["watermark_type"] == "integer"
    assert data["committed_value"] == "25"
    assert data["moved_by_run_id"] == "r2"
    assert [(e["kind"], e["run_id"], e["from_value"], e["to_value"]) for e in data["history"]] == [
        ("commit", "r2", "10", "25"),
        ("commit", "r1", None, "10"),
    ]

    human = cli("tables", "watermark", TABLE, tz="Europe/Paris")
    assert human.exit_code == 0, human.output
    assert "committed" in human.stdout
    assert "25" in human.stdout
    assert "2 history entries" in human.stdout
    assert " CET (" in human.stdout  # times in --tz, UTC beside them


def test_watermark_of_a_table_never_committed_says_so(cli: Cli, registry: Registry) -> None:
    registry.pipelines_write.create({"pipeline_id": "fresh", "name": "Fresh"})
    registry.tables_write.create(
        {"table_id": "fresh.src", "pipeline_id": "fresh", "table_name": "src", "watermark_column": "ts"}
    )
    data = cli.json("tables", "watermark", "fresh.src")
    assert data["committed_value"] is None
    assert data["history"] == []
    human = cli("tables", "watermark", "fresh.src")
    assert "no run committed yet" in human.stdout
    assert "0 history entries" in human.stdout


def test_unknown_table_exits_not_found(cli: Cli, registry: Registry) -> None:
    result = cli("tables", "watermark", "nope.nothing")
    assert result.exit_code == ExitCode.NOT_FOUND, result.output
    assert "nope.nothing" in result.stderr


def test_dry_run_says_what_would_change_and_writes_nothing(cli: Cli, orders: Registry) -> None:
    result = cli("tables", "rewind", TABLE, "--to-run", "r2", "--before", "--reason", "bad batch", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would move the watermark of {TABLE} from 25 to 10 (to before run r2)" in result.stdout
    data = cli.json("tables", "watermark", TABLE)
    assert data["committed_value"] == "25"
    assert len(data["history"]) == 2


def test_rewind_to_before_a_run_then_the_next_run_reads_its_low_bound(cli: Cli, orders: Registry) -> None:
    result = cli("tables", "rewind", TABLE, "--to-run", "r2", "--reason", "bad batch", "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert (done["from_value"], done["to_value"], done["dry_run"]) == ("25", "10", False)
    data = cli.json("tables", "watermark", TABLE)
    assert data["committed_value"] == "10"
    rewind = data["history"][0]
    assert (rewind["kind"], rewind["to_run_id"], rewind["position"], rewind["reason"]) == (
        "rewind",
        "r2",
        "before",
        "bad batch",
    )
    assert rewind["actor"]
    with PipelineRunLogger(
        pipeline_id="orders", run_id="r3", registry=orders, heartbeat_interval=3600, handle_sigterm=False
    ) as run:
        assert run.watermark(TABLE) == "10"


def test_rewind_after_a_run_and_to_a_value(cli: Cli, orders: Registry) -> None:
    after = cli("tables", "rewind", TABLE, "--to-run", "r1", "--after", "--reason", "r2 was wrong")
    assert after.exit_code == 0, after.output
    assert f"moved the watermark of {TABLE} from 25 to 10 (to after run r1)" in after.stdout
    value = cli("tables", "rewind", TABLE, "--value", "3", "--reason", SECRET_REASON, "--json")
    assert value.exit_code == 0, value.output
    assert "hunter2" not in value.stdout  # the reason is shown redacted
    assert cli.json("tables", "watermark", TABLE)["committed_value"] == "3"
    listing = cli("tables", "watermark", TABLE, "--json")
    assert "hunter2" not in listing.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--reason", "x"], ExitCode.USAGE, "exactly one of --to-run"),
        (["--to-run", "r1", "--value", "3", "--reason", "x"], ExitCode.USAGE, "exactly one of --to-run"),
        (["--value", "3"], ExitCode.USAGE, "--reason"),
        (["--value", "3", "--after", "--reason", "x"], ExitCode.USAGE, "--after needs --to-run"),
        (["--value", "3", "--reason", "  "], ExitCode.USAGE, "must not be empty"),
        (["--to-run", "nobody", "--reason", "x"], ExitCode.NOT_FOUND, "nobody"),
        (["--value", "not-a-number", "--reason", "x"], ExitCode.VALIDATION, "integer"),
    ],
)
def test_rewind_errors_have_their_exit_codes(
    cli: Cli, orders: Registry, args: list[str], code: ExitCode, needle: str
) -> None:
    result = cli("tables", "rewind", TABLE, *args)
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert cli.json("tables", "watermark", TABLE)["committed_value"] == "25"  # nothing moved
