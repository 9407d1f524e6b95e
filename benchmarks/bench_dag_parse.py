"""DAG parse cost: import a DAG file in a fresh interpreter, with and without the provider's modules.

Each measurement is a new ``python`` process (nothing cached in ``sys.modules``) that times
``runpy.run_path(dag_file)`` and reports which heavy modules ended up imported.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DAGS = Path(__file__).resolve().parent / "dags"
BASELINE, PROVIDER = DAGS / "airflow_only_dag.py", DAGS / "provider_dag.py"
HEAVY = ("boto3", "botocore", "pyspark")
PROVIDER_MODULES = (
    "airflow_provider_pipeline_registry.operators.pipeline_registry",
    "airflow_provider_pipeline_registry.sensors.pipeline_registry",
)


@dataclass
class ParseResult:
    """Seconds per import of each DAG file; heavy modules seen; why the provider DAG failed, if it did."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    #: import time of the provider's modules alone, measured inside the provider DAG's process
    ours_seconds: list[float] = field(default_factory=list)
    heavy_imported: dict[str, list[str]] = field(default_factory=dict)
    missing: str | None = None

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])


def _child(dag_file: str) -> None:
    """Time the DAG file's imports: Airflow's first, then (provider DAG) ours alone, then the file."""
    import importlib

    start = time.perf_counter()
    importlib.import_module("airflow.sdk")
    importlib.import_module("airflow.providers.standard.operators.empty")
    airflow_done = time.perf_counter()
    try:
        if Path(dag_file) == PROVIDER:
            for module in PROVIDER_MODULES:
                importlib.import_module(module)
        ours_done = time.perf_counter()
        runpy.run_path(dag_file)
    except ImportError as exc:
        print(json.dumps({"missing": f"{type(exc).__name__}: {exc}"}))
        return
    elapsed = time.perf_counter() - start
    heavy = sorted(name for name in HEAVY if name in sys.modules)
    print(json.dumps({"seconds": elapsed, "ours": ours_done - airflow_done, "heavy": heavy}))


def _once(dag: Path, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(dag)], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"missing": f"exit {proc.returncode}: {tail[0]}"}
    return dict(json.loads(lines[-1]))


def run(*, quick: bool) -> ParseResult:
    home = tempfile.mkdtemp(prefix="bench-airflow-")
    env = {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    result = ParseResult(seconds={"airflow only": [], "with provider": []})
    repeats = 1 if quick else 15
    try:
        # one untimed run each, so .pyc files exist before anything is timed (the smoke run skips it)
        for dag in () if quick else (BASELINE, PROVIDER):
            _once(dag, env)
        for r in range(repeats):
            pairs = [("airflow only", BASELINE), ("with provider", PROVIDER)]
            for name, dag in pairs if r % 2 == 0 else pairs[::-1]:
                outcome = _once(dag, env)
                if "missing" in outcome:
                    if name == "with provider":
                        result.missing = str(outcome["missing"])
                        return result
                    raise RuntimeError(f"the Airflow-only DAG failed to import: {outcome['missing']}")
                result.seconds[name].append(float(outcome["seconds"]))  # type: ignore[arg-type]
                if name == "with provider":
                    result.ours_seconds.append(float(outcome["ours"]))  # type: ignore[arg-type]
                result.heavy_imported[name] = list(outcome["heavy"])  # type: ignore[call-overload]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--child":
    _child(sys.argv[2])


# -- generated DAGs (issue 24): registry_dags() over a snapshot vs the same DAGs hand-written ---------
GENERATED_PIPELINES = 1000
TABLES_PER_PIPELINE = 5
_SCHEDULES = ("30 2 * * *", "@daily", "@hourly", "PT6H", "0 */4 * * 1-5", None)


@dataclass
class GeneratedResult:
    """Seconds per parse of each file (the file alone, after Airflow and our modules), DAG counts, heavy modules."""

    pipelines: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    dags: dict[str, int] = field(default_factory=dict)
    heavy_imported: dict[str, list[str]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])


def _snapshot_entries(count: int) -> list[dict[str, object]]:
    """``count`` pipelines of ``TABLES_PER_PIPELINE`` tables each (one target), as a snapshot holds them."""
    from airflow_provider_pipeline_registry.registry.lineage_names import table_lineage_name

    entries = []
    for i in range(count):
        pid = f"p{i:04d}"
        tables = [
            {"table_id": f"{pid}.t{t}", "role": "target" if t == 0 else "source", "location": f"s3://lake/{pid}/t{t}"}
            for t in range(TABLES_PER_PIPELINE)
        ]
        entries.append(
            {
                "pipeline_id": pid,
                "name": f"pipeline {i}",
                "description": f"benchmark pipeline {i}",
                "owner": f"team-{i % 7}",
                "schedule": _SCHEDULES[i % len(_SCHEDULES)],
                "tags": ["bench", f"t{i % 3}"],
                "dag": {"retries": i % 3},
                "spark_application": f"s3://jobs/{pid}.py",
                "version": 1,
                "created_at": "2026-02-03T04:05:06.000000Z",
                "updated_at": "2026-02-03T04:05:06.000000Z",
                "targets": [table_lineage_name(t).uri for t in tables if t["role"] == "target"],
            }
        )
    return entries


def _hand_written(entries: list[dict[str, object]]) -> str:
    """The same DAGs as registry_dags() makes of ``entries``, written out one ``with DAG`` block each."""
    lines = [
        "from datetime import UTC, datetime, timedelta",
        "from airflow.providers.common.compat.sdk import DAG",
        "from airflow_provider_pipeline_registry.dags import PipelineRunTaskGroup",
        "",
    ]
    for e in entries:
        schedule = e["schedule"]
        schedule_src = "timedelta(hours=6)" if schedule == "PT6H" else repr(schedule)
        lines += [
            f"with DAG(dag_id={e['pipeline_id']!r}, schedule={schedule_src}, "
            "start_date=datetime(2026, 2, 3, tzinfo=UTC), catchup=False, "
            f"default_args={{'owner': {e['owner']!r}, 'retries': {e['dag']['retries']!r}}}, "  # type: ignore[index]
            f"tags={['pipeline-registry', *e['tags']]!r}, description={e['description']!r}) as dag_{e['pipeline_id']}:",  # type: ignore[misc]
            f"    PipelineRunTaskGroup({e['pipeline_id']!r}, spark_conn_id='spark_local')",
        ]
    return "\n".join(lines) + "\n"


def _generated_child(dag_file: str) -> None:
    """Import Airflow and our modules, then time the DAG file alone; count its DAGs."""
    import importlib

    for module in (
        "airflow.sdk",
        "airflow.providers.apache.spark.operators.spark_submit",
        "airflow_provider_pipeline_registry.dags.task_group",
        "airflow_provider_pipeline_registry.dags.generated",
        "airflow_provider_pipeline_registry.operators.pipeline_registry",
    ):
        importlib.import_module(module)
    start = time.perf_counter()
    namespace = runpy.run_path(dag_file)
    elapsed = time.perf_counter() - start
    from airflow.providers.common.compat.sdk import DAG

    dags = sum(1 for v in namespace.values() if isinstance(v, DAG))
    heavy = sorted(name for name in HEAVY if name in sys.modules)
    print(json.dumps({"seconds": elapsed, "dags": dags, "heavy": heavy}))


def run_generated(*, quick: bool) -> GeneratedResult:
    """Parse both files in fresh interpreters, interleaved: 1,000 pipelines (100 with ``quick``)."""
    count = 100 if quick else GENERATED_PIPELINES
    home = Path(tempfile.mkdtemp(prefix="bench-generated-"))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    entries = _snapshot_entries(count)
    snapshot = home / "snapshot.json"
    snapshot.write_text(json.dumps({"format": 1, "written_at": "2026-02-03T04:05:06.000000Z", "pipelines": entries}))
    generated = home / "generated_dags.py"
    generated.write_text(
        "from airflow_provider_pipeline_registry.dags import registry_dags\n"
        f"registry_dags(globals(), snapshot={str(snapshot)!r}, spark_conn_id='spark_local')\n"
    )
    hand = home / "hand_written_dags.py"
    hand.write_text(_hand_written(entries))
    result = GeneratedResult(pipelines=count, seconds={"hand-written": [], "generated": []})
    files = [("hand-written", hand), ("generated", generated)]
    try:
        for _, dag in files:  # untimed: .pyc files and the OS cache
            _generated_run(dag, env)
        for r in range(2 if quick else 5):
            for name, dag in files if r % 2 == 0 else files[::-1]:
                outcome = _generated_run(dag, env)
                result.seconds[name].append(float(outcome["seconds"]))  # type: ignore[arg-type]
                result.dags[name] = int(outcome["dags"])  # type: ignore[call-overload]
                result.heavy_imported[name] = list(outcome["heavy"])  # type: ignore[call-overload]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return result


def _generated_run(dag: Path, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--generated-child", str(dag)], env=env, capture_output=True, text=True, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{dag.name} failed: {(proc.stderr or proc.stdout)[-2000:]}")
    return dict(json.loads(lines[-1]))


#: issue 24: the generated file parses in at most this many times the hand-written one's time
GENERATED_TARGET = 1.5


def report_generated(result: GeneratedResult) -> str:
    hand, gen = result.median("hand-written"), result.median("generated")
    ratio = gen / hand
    ok = ratio <= GENERATED_TARGET and not any(result.heavy_imported.values())
    rows = [
        f"Generated DAGs vs hand-written: {result.pipelines} pipelines x {TABLES_PER_PIPELINE} tables, "
        "parse of the DAG file alone (median s, fresh interpreter each)",
        f"  hand-written: {hand:.3f} s ({result.dags['hand-written']} DAGs) {result.seconds['hand-written']}",
        f"  generated:    {gen:.3f} s ({result.dags['generated']} DAGs) {result.seconds['generated']}",
        f"  ratio {ratio:.2f}x; boto3/botocore/pyspark imported: {result.heavy_imported} "
        f"-> {'met' if ok else 'MISSED'} (<= {GENERATED_TARGET}x, none imported)",
    ]
    return "\n".join(rows)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--generated-child":
    _generated_child(sys.argv[2])
elif __name__ == "__main__" and sys.argv[1:2] == ["--generated"]:
    print(report_generated(run_generated(quick="--quick" in sys.argv)))
