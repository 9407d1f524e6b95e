"""A non-default, valid value of every declared registry setting (shared by the settings tests).

Keyed by ``DynamoDBConfig`` field; the tests assert the keys are exactly the declared settings, so
a new setting cannot be added without a sample here (and so without being tested on every surface).
"""

from __future__ import annotations

from typing import Any

NON_DEFAULTS: dict[str, Any] = {
    "region": "eu-west-3",
    "endpoint_url": "http://127.0.0.1:8123",
    "table_prefix": "allset_",
    "environment": "staging",
    "user_timezone": "Asia/Kolkata",
    "pipeline_config_table": "pipelines",
    "table_config_table": "tables",
    "run_logs_table": "runs",
    "watermarks_table": "marks",
    "connect_timeout": 2.5,
    "read_timeout": 11.0,
    "max_attempts": 3,
    "base_backoff_seconds": 0.2,
    "max_backoff_seconds": 2.0,
    "batch_concurrency": 4,
    "retry_mode": "adaptive",
    "run_log_retention_days": 45,
}
