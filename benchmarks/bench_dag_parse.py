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
