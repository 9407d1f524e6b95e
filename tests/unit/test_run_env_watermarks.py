"""The low bounds a job without the run logger reads from its environment (``PIPELINE_REGISTRY_WATERMARKS``)."""

from __future__ import annotations

import pytest

from airflow_provider_pipeline_registry.registry.config import DynamoDBConfig
from airflow_provider_pipeline_registry.registry.run_env import WATERMARKS_ENV, read_watermarks, run_logger_env


def test_run_logger_env_carries_the_watermarks_and_they_read_back() -> None:
    env = run_logger_env(
        DynamoDBConfig(region="eu-west-1"),
        pipeline_id="p",
        run_id="r",
        watermarks={"p.src": "2026-12-01T00:00:00.000000Z", "p.new": None},
    )
    assert read_watermarks(env) == {"p.src": "2026-12-01T00:00:00.000000Z", "p.new": None}
    assert WATERMARKS_ENV not in run_logger_env(DynamoDBConfig(region="eu-west-1"), pipeline_id="p", run_id="r")


@pytest.mark.parametrize("unset", [{}, {WATERMARKS_ENV: ""}, {WATERMARKS_ENV: "None"}])
def test_unset_or_unrendered_is_no_watermark(unset: dict[str, str]) -> None:
    assert read_watermarks(unset) == {}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [("{not json", "is not JSON"), ("[1, 2]", "JSON object"), ('{"t": 5}', "JSON object")],
)
def test_a_bad_value_names_the_variable(raw: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as caught:
        read_watermarks({WATERMARKS_ENV: raw})
    assert WATERMARKS_ENV in str(caught.value)
