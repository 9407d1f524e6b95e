"""Seed data of the UI tests, written through the registry core (the way users fill the registry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from registry_fixtures import registry_on

from airflow_provider_pipeline_registry.registry import Registry

#: the pipeline with many runs (paged); its newest run is a FAILED one
BIG = "sales_daily"
BIG_RUNS = 1000
T0 = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
SPARK_UI = "http://spark-history.example:18080/history/app-0001"

#: secrets in the big pipeline's config (conf, args, parameters, a table's options and location):
#: no page nor API answer may show any of them, to any role
S3_SECRET = "uiS3SecretKey/Seeded+0123456789abcdefXYZ"
S3_KEY_ID = "AKIAUISEEDEDKEY00042"
DB_PASSWORD_ARG = "argPassw0rd-seeded-7781"
SECRET_KEY_ARG = "argSecretKey-seeded-9917"
API_TOKEN = "apiToken-seeded-55120"
NESTED_PASSWORD = "nestedDbPassw0rd-seeded-3141"
JDBC_PASSWORD = "jdbcQueryPassw0rd-seeded-2718"
JDBC_USERINFO_PASSWORD = "jdbcUserinfoPw-seeded-1618"
OPTIONS_PASSWORD = "optionsPassw0rd-seeded-4242"
LOCATION_SECRET = "locationSecret-seeded-8080"
SEEDED_SECRETS = (
    S3_SECRET,
    S3_KEY_ID,
    DB_PASSWORD_ARG,
    SECRET_KEY_ARG,
    API_TOKEN,
    NESTED_PASSWORD,
    JDBC_PASSWORD,
    JDBC_USERINFO_PASSWORD,
    OPTIONS_PASSWORD,
    LOCATION_SECRET,
)
JDBC_URL = f"jdbc:postgresql://etl:{JDBC_USERINFO_PASSWORD}@db.example:5432/sales?ssl=true&password={JDBC_PASSWORD}"


def registry_for(endpoint_url: str, table_prefix: str, user_timezone: str = "Europe/Paris") -> Registry:
    """The seeded registry (tables created by :func:`seed`), built by the suite's one builder."""
    return registry_on(endpoint_url, table_prefix, create=False, user_timezone=user_timezone)


def big_run(i: int) -> dict[str, Any]:
    """Run ``i`` of the big pipeline: started hourly, every 7th FAILED, the rest SUCCESS."""
    start = T0 + timedelta(hours=i)
    failed = i % 7 == 6
    return {
        "run_id": f"{BIG}/scheduled__{start:%Y-%m-%dT%H:%M:%S}+00:00",
        "pipeline_id": BIG,
        "status": "FAILED" if failed else "SUCCESS",
        "try_number": 2 if failed else 1,
        "start_time": start,
        "end_time": start + timedelta(seconds=60 + i % 50),
        "dag_id": "sales_daily_dag",
        "dag_run_id": f"scheduled__{start:%Y-%m-%dT%H:%M:%S}+00:00",
        "task_id": "spark_job",
        "spark_application_id": f"app-{i:04d}",
        "spark_ui_url": f"http://spark-history.example:18080/history/app-{i:04d}",
        "metrics": {"rows_written": 1000 + i},
        "error_type": "SparkJobError" if failed else None,
        "error_message": f"stage {i} failed: OutOfMemory" if failed else None,
    }


#: inventory_hourly's incremental source: committed by WATERMARK_RUN's SUCCESS end (None -> TO),
#: then rewound by hand to REWOUND, with a reason holding a secret
WATERMARK_TABLE = "stock_levels"
WATERMARK_RUN = "inventory_dag/manual__2026-12-01T06:00:00+00:00"
WATERMARK_TO = "2026-12-01T00:00:00.000000Z"
WATERMARK_REWOUND = "2026-11-30T12:00:00.000000Z"
REWIND_REASON_SECRET = "rewindPassw0rd-seeded-6060"


def seed_watermarks(registry: Registry) -> None:
    """stock_levels' watermark: committed by WATERMARK_RUN (an older run of inventory_hourly than
    its RUNNING one), then rewound to a value."""
    registry.tables_write.create(
        {
            "table_id": WATERMARK_TABLE,
            "pipeline_id": "inventory_hourly",
            "table_name": "stock_levels",
            "role": "source",
            "load_type": "incremental",
            "watermark_column": "updated_at",
            "watermark_type": "timestamp",
        }
    )
    run = registry.runs_write.start(
        {
            "run_id": WATERMARK_RUN,
            "pipeline_id": "inventory_hourly",
            "dag_id": "inventory_dag",
            "dag_run_id": "manual__2026-12-01T06:00:00+00:00",
            "task_id": "spark_job",
            "start_time": datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        }
    )
    registry.runs_write.finish(
        {
            "run_id": WATERMARK_RUN,
            "pipeline_id": "inventory_hourly",
            "status": "SUCCESS",
            "end_time": datetime(2026, 12, 1, 6, 5, tzinfo=UTC),
            "attempt_id": run.attempt_id,
            "watermarks": {WATERMARK_TABLE: WATERMARK_TO},
        }
    )
    registry.tables_write.rewind_watermark(
        WATERMARK_TABLE,
        value=WATERMARK_REWOUND,
        reason=f"late rows: replay the afternoon (db password={REWIND_REASON_SECRET})",
    )


#: a pipeline that has runs but no config item (runs written by a job the registry has no config of)
ORPHAN = "adhoc_backfill"


def outlier_runs(pipeline_id: str, t0: datetime = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)) -> list[dict[str, Any]]:
    """Twelve SUCCESS runs of ``pipeline_id`` an hour apart: 60-115 s, and one of 50x the usual
    (3,000 s, the ninth) among them."""
    runs = []
    for i in range(12):
        start = t0 + timedelta(hours=i)
        seconds = 3000 if i == 8 else 60 + 5 * i
        runs.append(
            {
                "run_id": f"{pipeline_id}/run-{i:02d}",
                "pipeline_id": pipeline_id,
                "status": "SUCCESS",
                "start_time": start,
                "end_time": start + timedelta(seconds=seconds),
            }
        )
    return runs


def seed(registry: Registry, *, big_runs: int = BIG_RUNS) -> None:
    """Three pipelines (one inactive), tables of the big one, ``big_runs`` runs and one RUNNING run,
    and two runs of :data:`ORPHAN` (no config)."""
    registry.create_tables()
    registry.pipelines_write.create(
        {
            "pipeline_id": BIG,
            "name": "Daily sales",
            "description": "Aggregates the day's sales.",
            "owner": "data-eng",
            "schedule": "@daily",
            "spark_application": "s3://jobs/sales_daily.py",
            "spark_conf": {
                "spark.executor.memory": "4g",
                "spark.hadoop.fs.s3a.secret.key": S3_SECRET,
                "spark.hadoop.fs.s3a.access.key": S3_KEY_ID,
                "spark.sales.jdbc.url": JDBC_URL,
            },
            "spark_args": ["--date", "{{ ds }}", "--db-password", DB_PASSWORD_ARG, f"--secret-key={SECRET_KEY_ARG}"],
            "parameters": {
                "threshold": 10,
                "regions": ["eu", "us"],
                "api_token": API_TOKEN,
                "db": {"host": "db.example", "password": NESTED_PASSWORD},
            },
            "tags": ["sales", "daily"],
        }
    )
    registry.pipelines_write.create(
        {"pipeline_id": "inventory_hourly", "name": "Hourly inventory", "owner": "ops", "tags": ["inventory"]}
    )
    registry.pipelines_write.create(
        {"pipeline_id": "legacy_export", "name": "Legacy export", "owner": "data-eng", "is_active": False}
    )
    registry.tables_write.create(
        {
            "table_id": "raw_sales",
            "pipeline_id": BIG,
            "table_name": "sales",
            "database": "raw",
            "role": "source",
            "format": "parquet",
            "location": "s3://lake/raw/sales/",
            "options": {"header": "true", "password": OPTIONS_PASSWORD},
            "load_type": "incremental",
            "watermark_column": "updated_at",
            "watermark_value": "2026-11-30T00:00:00Z",
        }
    )
    registry.tables_write.create(
        {
            "table_id": "sales_agg",
            "pipeline_id": BIG,
            "table_name": "sales_agg",
            "database": "mart",
            "role": "target",
            "format": "delta",
            "location": f"s3a://{S3_KEY_ID}:{LOCATION_SECRET}@lake/mart/sales_agg/",
            "load_type": "merge",
        }
    )
    report = registry.runs_write.batch_upsert([big_run(i) for i in range(big_runs)] + outlier_runs(ORPHAN)[:2])
    if not report.ok:
        raise RuntimeError(f"seeding failed: {report.failed[:3]}")
    seed_watermarks(registry)
    registry.runs_write.start(
        {
            "run_id": "inventory_dag/manual__2026-12-01T08:00:00+00:00",
            "pipeline_id": "inventory_hourly",
            "dag_id": "inventory_dag",
            "dag_run_id": "manual__2026-12-01T08:00:00+00:00",
            "task_id": "spark_job",
            "start_time": datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        }
    )


#: the Airflow dag run of the retried run (:func:`retried_run`)
RETRIED_DAG_RUN = "manual__2026-11-30T08:00:00+00:00"
RETRIED_OOM = "java.lang.OutOfMemoryError: Java heap space"
RETRIED_TIMEOUT = "AirflowTaskTimeout: Timeout, PID: 4242"


def retried_run(pipeline_id: str = "inventory_hourly") -> dict[str, Any]:
    """A run of ``inventory_dag`` that failed twice (an OutOfMemoryError after 12 minutes, a timeout
    after 10) and succeeded on try 3 in 2 minutes: 25 minutes in all, the issue's 3 a.m. example."""
    t0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    oom = "Job aborted due to stage failure: " + "x" * 3000 + " " + RETRIED_OOM
    return {
        "run_id": f"inventory_dag/{RETRIED_DAG_RUN}",
        "pipeline_id": pipeline_id,
        "status": "SUCCESS",
        "try_number": 3,
        "start_time": t0 + timedelta(minutes=23),
        "end_time": t0 + timedelta(minutes=25),
        "dag_id": "inventory_dag",
        "dag_run_id": RETRIED_DAG_RUN,
        "task_id": "spark_job",
        "spark_application_id": "app-r3",
        "spark_ui_url": "http://spark-history.example:18080/history/app-r3",
        "metrics": {"rows_written": 42},
        "attempts": [
            {
                "try_number": 1,
                "task_id": "spark_job",
                "status": "FAILED",
                "start_time": t0,
                "end_time": t0 + timedelta(minutes=12),
                "error_type": "SparkJobError",
                "error_message": oom,
                "spark_application_id": "app-r1",
            },
            {
                "try_number": 2,
                "task_id": "spark_job",
                "status": "FAILED",
                "start_time": t0 + timedelta(minutes=13),
                "end_time": t0 + timedelta(minutes=23),
                "error_type": "AirflowTaskTimeout",
                "error_message": RETRIED_TIMEOUT,
                "spark_application_id": "app-r2",
            },
        ],
    }
