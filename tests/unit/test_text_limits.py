"""Issue 21 item 9: one limit, one truncation; long errors keep their head and their tail.

The exception line at the end of a 35 KB Spark traceback survives the run logger, ``finish``, the
attempt history and a batch upsert; the limit is in bytes of UTF-8 and no character is cut.
"""

from __future__ import annotations

import re
import uuid

import pytest
from registry_fixtures import new_prefix, registry_on
from spark_traceback import FIRST_LINE, LAST_LINE, spark_traceback

from airflow_provider_pipeline_registry.registry import PipelineRunLogger, Registry
from airflow_provider_pipeline_registry.registry.text_limits import MAX_ERROR_BYTES, truncate_text

MARKER = re.compile(r"\n\.\.\. \[(\d+) bytes omitted\] \.\.\.\n")


def _check_cut(text: str, cut: str, limit: int) -> None:
    """``cut`` is within ``limit`` bytes, keeps a head and a tail of ``text`` and counts what it omits."""
    assert len(cut.encode("utf-8")) <= limit
    found = MARKER.search(cut)
    assert found is not None, cut[-300:]
    head, tail = cut[: found.start()], cut[found.end() :]
    assert text.startswith(head)
    assert text.endswith(tail)
    assert int(found.group(1)) == len(text.encode()) - len(head.encode()) - len(tail.encode())


def test_a_long_traceback_keeps_its_first_and_last_lines_within_the_byte_limit() -> None:
    text = spark_traceback(35_000)
    assert len(text.encode()) > 35_000
    cut = truncate_text(text)
    _check_cut(text, cut, MAX_ERROR_BYTES)
    assert cut.startswith(FIRST_LINE + "\n")
    assert cut.endswith("\n" + LAST_LINE)  # the exception's name, whole
    assert len(cut.encode()) > MAX_ERROR_BYTES - 200  # the room is used, not wasted


@pytest.mark.parametrize("limit", [64, 100, 255, 1000, 4097, MAX_ERROR_BYTES])
@pytest.mark.parametrize(
    "text",
    ["😀" * 3000, "é" * 5000, "a" * 9000 + "€", "x\n" * 6000, "€" + "\n" * 9000 + "😀"],
    ids=["4-byte", "2-byte", "ascii-then-3-byte", "short-lines", "blank-lines"],
)
def test_multibyte_characters_are_never_split_and_the_limit_holds(text: str, limit: int) -> None:
    cut = truncate_text(text, limit)
    cut.encode("utf-8", "strict")  # a split character would have been dropped or be a lone surrogate
    _check_cut(text, cut, limit)


def test_text_within_the_limit_is_unchanged_and_a_cut_is_stable() -> None:
    exact = "é" * (MAX_ERROR_BYTES // 2)
    assert truncate_text(exact) == exact
    cut = truncate_text(exact + "x")
    assert cut != exact
    assert truncate_text(cut) == cut  # cutting what was kept changes nothing (a re-read, a re-send)


def test_one_line_summary_is_the_same_cut_on_one_line() -> None:
    cut = truncate_text(spark_traceback(), 160, one_line=True)
    assert "\n" not in cut
    assert len(cut.encode()) <= 160
    assert cut.startswith(FIRST_LINE)
    assert cut.endswith("SQLSTATE: 42P01")
    assert re.search(r" \.\.\. \[\d+ bytes omitted\] \.\.\. ", cut)


# -- through the registry (DynamoDB Local) ---------------------------------------------------------


@pytest.fixture(scope="module")
def registry(dynamodb_endpoint: str) -> Registry:
    return registry_on(dynamodb_endpoint, new_prefix("tl"))  # tables shared by the module


class AnalysisException(Exception):
    pass


def _assert_stored_error_keeps_the_point(error: str | None) -> None:
    assert error is not None
    assert len(error.encode()) <= MAX_ERROR_BYTES
    assert MARKER.search(error)
    assert error.endswith(LAST_LINE)


def test_the_run_logger_records_the_end_of_a_long_spark_traceback(registry: Registry) -> None:
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    with (
        pytest.raises(AnalysisException),
        PipelineRunLogger(pipeline_id="p", run_id=run_id, registry=registry, heartbeat_interval=3600),
    ):
        raise AnalysisException(spark_traceback())
    run = registry.runs.find_entity(run_id, "p", consistent=True)
    assert run is not None
    _assert_stored_error_keeps_the_point(run.error_message)
    assert run.error_message.startswith(FIRST_LINE)


def test_finish_the_attempt_history_and_batch_upsert_keep_the_tail(registry: Registry) -> None:
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    registry.runs_write.start({"run_id": run_id, "pipeline_id": "p", "try_number": 1})
    registry.runs_write.finish(
        {
            "run_id": run_id,
            "pipeline_id": "p",
            "status": "FAILED",
            "error_type": "E",
            "error_message": spark_traceback(),
        }
    )
    run = registry.runs.find_entity(run_id, "p", consistent=True)
    assert run is not None
    _assert_stored_error_keeps_the_point(run.error_message)

    registry.runs_write.start({"run_id": run_id, "pipeline_id": "p", "try_number": 2})  # a retry
    run = registry.runs.find_entity(run_id, "p", consistent=True)
    assert run is not None
    assert len(run.attempts) == 1
    _assert_stored_error_keeps_the_point(run.attempts[0].error_message)

    other = f"r-{uuid.uuid4().hex[:8]}"
    registry.runs_write.batch_upsert(
        [
            {
                "run_id": other,
                "pipeline_id": "p",
                "status": "FAILED",
                "start_time": "2026-01-01T00:00:00Z",
                "end_time": "2026-01-01T00:01:00Z",
                "error_message": spark_traceback(),
            }
        ]
    )
    imported = registry.runs.find_entity(other, "p", consistent=True)
    assert imported is not None
    _assert_stored_error_keeps_the_point(imported.error_message)
