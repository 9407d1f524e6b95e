"""The end-to-end demo: both example DAGs on real Airflow and real Spark, run logs printed.

Run through ``scripts/demo.sh`` (which installs everything first), or ``uv run python scripts/demo.py``.

* No endpoint configured: an embedded DynamoDB Local is started (and stopped afterwards).
* ``DYNAMODB_ENDPOINT_URL`` set, or an ``AIRFLOW_CONN_AWS_DEFAULT`` connection defined: that is used.
* Times are shown in ``--timezone``, else ``DYNAMODB_USER_TIMEZONE``, else the machine's own zone.
* Spark logs warnings and errors only (its INFO lines would drown the rest); the summary of the
  runs is printed last, laid out for the terminal's width (80 columns are enough).

Steps: a temporary AIRFLOW_HOME with a SQLite metadata DB, the registry tables, the seed configs
of ``dags_examples/seed/``, ``example_spark_pipeline`` (2,000 sales), new sales, then
``example_spark_pipeline`` again (incremental: it reads only the 500 new ones), the asset consumer
and ``example_downstream_pipeline`` with ``dag.test()``, and the resulting run logs and the source
table's watermark history as tables in the user's timezone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "dags_examples"
# example_asset_consumer is scheduled on the asset of a target table of sales_daily (assets.py)
DAG_IDS = ("example_spark_pipeline", "example_asset_consumer", "example_downstream_pipeline")
#: Airflow 2 has no run-time asset events: the consumer is not run there
PIPELINE_IDS = ("sales_daily",)
#: the incremental source of sales_daily: its watermark history is shown at the end
SOURCE_TABLE_ID = "sales_daily.raw_sales"


#: the sales the first run reads, and the ones that arrive before the second (incremental) run
FIRST_SALES, NEW_SALES = 2_000, 500


def write_sample_sales(directory: Path, rows: int = FIRST_SALES, *, first_order: int = 0, part: int = 0) -> None:
    """Deterministic raw sales as CSV: orders ``first_order`` .. ``first_order + rows - 1`` in
    ``part-<part>.csv`` (call again with a higher ``first_order`` and ``part`` for new sales)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42 + part)
    regions = ["north", "south", "east", "west"]
    with (directory / f"part-{part:03d}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "region", "amount"])
        for order in range(first_order, first_order + rows):
            writer.writerow([order, rng.choice(regions), round(rng.uniform(1, 500), 2)])


def add_new_sales(directory: Path) -> None:
    """The sales that arrive after the first run: the second run reads only these."""
    write_sample_sales(directory, NEW_SALES, first_order=FIRST_SALES, part=1)


def load_seed(data_dir: Path) -> list[dict[str, Any]]:
    import yaml

    text = (EXAMPLES / "seed" / "pipelines.yaml").read_text()
    text = text.replace("{examples_dir}", str(EXAMPLES)).replace("{data_dir}", str(data_dir))
    return list(yaml.safe_load(text)["pipelines"])


def machine_timezone() -> str:
    """The IANA name of this machine's timezone (``TZ``, ``/etc/localtime``, ``/etc/timezone``), else UTC."""
    from zoneinfo import ZoneInfo

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8").strip())
    for name in candidates:
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
            continue
        return name
    return "UTC"


SPARK_LOG4J = """\
# written by scripts/demo.py: Spark logs warnings and errors only
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.jetty.name = org.sparkproject.jetty
logger.jetty.level = warn
"""


def quiet_spark(home: Path) -> None:
    """A SPARK_CONF_DIR whose log4j2.properties turns Spark's INFO lines down (spark-submit reads it)."""
    conf = home / "spark-conf"
    conf.mkdir(exist_ok=True)
    (conf / "log4j2.properties").write_text(SPARK_LOG4J, encoding="utf-8")
    os.environ.setdefault("SPARK_CONF_DIR", str(conf))


def configure_environment(home: Path, endpoint: str | None, timezone: str, prefix: str) -> None:
    """Everything Airflow reads at import time, set before Airflow is imported."""
    quiet_spark(home)
    os.environ["AIRFLOW_HOME"] = str(home / "airflow")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(EXAMPLES)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["PIPELINE_REGISTRY_EXAMPLE_DATA_DIR"] = str(home / "data")  # the consumer's asset (seed {data_dir})
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow/airflow.db"
    os.environ.setdefault("AIRFLOW_CONN_SPARK_LOCAL", json.dumps({"conn_type": "spark", "host": "local[*]"}))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ["DYNAMODB_USER_TIMEZONE"] = timezone
    if endpoint is not None:  # embedded DynamoDB Local, or DYNAMODB_ENDPOINT_URL
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        os.environ.setdefault(
            "AIRFLOW_CONN_AWS_DEFAULT",
            json.dumps(
                {
                    "conn_type": "aws",
                    "extra": {
                        "endpoint_url": endpoint,
                        "region_name": os.environ["AWS_DEFAULT_REGION"],
                        "table_prefix": prefix,
                        "user_timezone": timezone,
                    },
                }
            ),
        )


Summary = list[str]


def run_demo(timezone: str, prefix: str, keep: bool, summary: Summary) -> int:
    # the DynamoDB Local launcher is test and demo tooling (tests/dynamodb_local.py), not in the wheel
    sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))
    from dynamodb_local import DynamoDBLocal

    home = Path(tempfile.mkdtemp(prefix="pipeline-registry-demo-"))
    (home / "airflow").mkdir()
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL")
    embedded: DynamoDBLocal | None = None
    if not endpoint and "AIRFLOW_CONN_AWS_DEFAULT" not in os.environ:
        embedded = DynamoDBLocal().start()
        endpoint = embedded.url
        print(f"==> started an embedded DynamoDB Local at {endpoint}")
    else:
        print(f"==> using the configured endpoint: {endpoint or 'the aws_default connection'}")
    try:
        configure_environment(home, endpoint, timezone, prefix)
        data_dir = home / "data"
        write_sample_sales(data_dir / "raw" / "sales")
        return _run_dags(data_dir, summary)
    finally:
        if embedded is not None:
            embedded.stop()
            print("==> stopped the embedded DynamoDB Local")
        if keep:
            print(f"==> kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _run_dags(data_dir: Path, summary: Summary) -> int:
    # Airflow is imported only now, after its environment is set.
    from airflow.utils import db

    try:  # Airflow 3.1+: the file-parsing DagBag moved to the dag processor
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # pragma: no cover - older Airflow
        from airflow.models.dagbag import DagBag

    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook
    from airflow_provider_pipeline_registry.registry.timezones import format_for_display

    print("==> creating the Airflow metadata DB")
    db.resetdb()
    hook = PipelineRegistryHook(aws_conn_id="aws_default")
    print(f"==> registry: {json.dumps(hook.describe_registry(), default=str)}")
    hook.create_tables()
    for pipeline in load_seed(data_dir):
        tables = pipeline.pop("tables", [])
        for table in tables:
            table.setdefault("pipeline_id", pipeline["pipeline_id"])
        hook.pipelines_write.batch_upsert([pipeline])
        report = hook.tables_write.batch_upsert(tables)
        print(f"==> seeded pipeline {pipeline['pipeline_id']} with {len(tables)} tables (failed: {report.failed})")

    bag = DagBag(dag_folder=str(EXAMPLES))
    if bag.import_errors:
        print(f"DAG import errors: {bag.import_errors}", file=sys.stderr)
        return 1
    from airflow_provider_pipeline_registry.compat import AIRFLOW_V_3_PLUS

    states: dict[str, str] = {}
    runs = [DAG_IDS[0], DAG_IDS[0], *DAG_IDS[1:]]  # the pipeline twice: the second run is incremental
    for index, dag_id in enumerate(d for d in runs if AIRFLOW_V_3_PLUS or d != "example_asset_consumer"):
        if index == 1:
            add_new_sales(data_dir / "raw" / "sales")
            print(f"==> {NEW_SALES} new sales arrived: the second run reads only those")
        print(f"==> running {dag_id}")
        dag_run = bag.get_dag(dag_id).test()
        states[f"{dag_id}#{index}"] = str(dag_run.state)
        print(f"==> {dag_id}: {dag_run.state}")

    summary.append(render_run_logs(hook, format_for_display))
    summary.append(render_watermark(hook, SOURCE_TABLE_ID))
    failed = {dag_id: state for dag_id, state in states.items() if state != "success"}
    if failed:
        summary.append(f"demo FAILED: {failed}")
        return 1
    summary.append("\ndemo OK: both DAGs succeeded")
    return 0


def render_run_logs(hook: Any, render: Any) -> str:
    """The run logs as text for this terminal's width (one block per run when a table is too wide)."""
    from rich.console import Console

    from airflow_provider_pipeline_registry.cli.render import FitTable, duration_text

    tz = hook.user_timezone
    rows = [
        (
            run.run_id,
            run.pipeline_id,
            run.status.value,
            str(run.try_number),
            render(run.start_time, tz),
            duration_text(run.duration_seconds),
            json.dumps(run.metrics, sort_keys=True),
            run.spark_application_id or "-",
        )
        for pipeline_id in PIPELINE_IDS
        for run in hook.runs.iter_by_pipeline(pipeline_id, tz=tz)
    ]
    columns = ("run id", "pipeline", "status", "try", "started", "took", "metrics", "spark app")
    title = f"pipeline_run_logs (times in {getattr(tz, 'key', tz)})"
    table = FitTable(title, columns, rows, hint="a wider terminal shows a table")
    console = Console(highlight=False)
    with console.capture() as captured:
        console.print(table)
    return captured.get()


def render_watermark(hook: Any, table_id: str) -> str:
    """The committed watermark of ``table_id`` and its commits, oldest first, one line each
    (``pipeline-registry tables watermark`` shows the whole history)."""
    registry = hook.registry
    table = registry.tables.get_by_id(table_id, consistent=True)
    committed = registry.tables.watermark(table_id).value
    lines = [f"\nwatermark of {table_id} ({table.watermark_column}): {committed}"]
    for entry in registry.tables.watermark_history(table_id):
        lines.append(f"  {entry.kind} {entry.from_value or 'none'} -> {entry.to_value or 'none'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--timezone",
        default=os.environ.get("DYNAMODB_USER_TIMEZONE") or machine_timezone(),
        help="IANA timezone of the times shown (default: DYNAMODB_USER_TIMEZONE, else this machine's zone)",
    )
    parser.add_argument("--table-prefix", default=os.environ.get("DYNAMODB_TABLE_PREFIX", "demo_"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary AIRFLOW_HOME and data")
    args = parser.parse_args()
    summary: Summary = []
    try:
        code = run_demo(args.timezone, args.table_prefix, args.keep, summary)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        if summary:  # last: after Airflow's, Spark's and the clean-up's output
            print("\n==> summary")
            print("\n".join(line.rstrip("\n") for line in summary), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
