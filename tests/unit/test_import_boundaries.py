"""The import boundaries of the layers, one row each (module -> packages it must not load), each
row in a fresh interpreter:

* the core (``registry/``) never loads Airflow or pyspark (a Spark driver has boto3 + pydantic);
* the Airflow face (hooks, operators, sensors, triggers, callbacks, the plugin, links, assets,
  OpenLineage, run context, compat, provider info) loads neither boto3 nor pyspark at import time,
  so parsing a DAG stays cheap;
* the CLI never loads Airflow or pyspark.

The forbidden packages are blocked (an import of them raises ImportError, as where they are not
installed) and must be absent from ``sys.modules`` afterwards. Control rows show that the probe
does see a load (the hook class itself does load boto3, through AwsBaseHook).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest

PACKAGE = "airflow_provider_pipeline_registry"
AIRFLOW_FACE_FORBIDDEN = ("boto3", "botocore", "pyspark")

PROBE = textwrap.dedent(
    """
    import importlib, importlib.abc, json, pkgutil, sys

    row = json.loads(sys.argv[1])
    forbidden = tuple(row["forbidden"])

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in forbidden:
                raise ImportError(f"{name} is blocked by the import-boundary test")
            return None

    sys.meta_path.insert(0, Block())
    imported = []
    error = None
    try:
        for name in row["modules"]:
            module = importlib.import_module(name)
            imported.append(name)
            if row["walk"] and hasattr(module, "__path__"):
                for info in pkgutil.walk_packages(module.__path__, prefix=name + "."):
                    importlib.import_module(info.name)
                    imported.append(info.name)
        if row["code"]:
            exec(row["code"], {})
    except ImportError as exc:
        error = f"{type(exc).__name__}: {exc}"
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
    print("BOUNDARY=" + json.dumps({"imported": imported, "loaded": loaded, "error": error}))
    """
)


@dataclass(frozen=True)
class Row:
    name: str
    modules: tuple[str, ...]
    forbidden: tuple[str, ...]
    walk: bool = False  #: every submodule of the packages too
    code: str = ""  #: run after the imports (e.g. build what a DAG file builds)
    holds: bool = True  #: False for a control row: the probe must see the load
    min_modules: int = 0  #: a walk imports at least this many modules (it did walk)


SENSOR_IN_A_DAG = """
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor
from airflow_provider_pipeline_registry.operators.pipeline_registry import StartPipelineRunOperator
with DAG("parse_only", schedule=None):
    PipelineRunStateSensor(task_id="a", pipeline_id="p", run_id="r", target_states=["success"])
    PipelineRunStateSensor(task_id="b", pipeline_id="p", since="2026-01-01T00:00:00", deferrable=True)
    StartPipelineRunOperator(task_id="c", pipeline_id="p")
"""

TASK_GROUP_IN_A_DAG = """
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pipeline_registry.dags import PipelineRunTaskGroup, registry_dags
with DAG("parse_only_group", schedule=None):
    PipelineRunTaskGroup("p", registry_options={"table_prefix": "dev_", "max_attempts": 3})
registry_dags({"__file__": "/nonexistent/dags.py"}, snapshot="/nonexistent/snapshot.json")
"""

CORE_IN_USE = """
import airflow_provider_pipeline_registry.registry as registry
for name in registry.__all__:
    getattr(registry, name)
config = registry.DynamoDBConfig(endpoint_url="http://127.0.0.1:1", user_timezone="Europe/Paris")
reg = registry.Registry(config)
reg.pipelines, reg.pipelines_write, reg.tables, reg.tables_write, reg.runs, reg.runs_write
registry.PipelineRunLogsWriteApi(config).to_item({"run_id": "r", "pipeline_id": "p", "status": "RUNNING"})
"""

ROWS = [
    Row("core", (f"{PACKAGE}.registry",), ("airflow", "pyspark"), walk=True, code=CORE_IN_USE, min_modules=40),
    Row(
        "core: run verdict (the trigger's decision)",
        (f"{PACKAGE}.registry.run_logs.verdict", f"{PACKAGE}.registry.time_inputs", f"{PACKAGE}.registry.tables"),
        ("boto3", "botocore", "airflow", "pyspark"),
    ),
    Row("hook module", (f"{PACKAGE}.hooks.pipeline_registry", f"{PACKAGE}.hooks.mixins"), AIRFLOW_FACE_FORBIDDEN),
    Row("operators", (f"{PACKAGE}.operators",), AIRFLOW_FACE_FORBIDDEN, walk=True),
    Row(
        "sensors and triggers, built in a DAG",
        (f"{PACKAGE}.sensors", f"{PACKAGE}.triggers"),
        (*AIRFLOW_FACE_FORBIDDEN, "aiobotocore"),
        walk=True,
        code=SENSOR_IN_A_DAG,
    ),
    Row("callbacks", (f"{PACKAGE}.callbacks",), AIRFLOW_FACE_FORBIDDEN),
    Row(
        "dags: the task group and registry_dags, built",
        (f"{PACKAGE}.dags",),
        AIRFLOW_FACE_FORBIDDEN,
        walk=True,
        code=TASK_GROUP_IN_A_DAG,
    ),
    Row("plugin entry", (f"{PACKAGE}.plugins", f"{PACKAGE}.plugins.pipeline_registry_plugin"), AIRFLOW_FACE_FORBIDDEN),
    Row(
        "links, assets, lineage, run context, compat, provider info",
        tuple(
            f"{PACKAGE}.{name}"
            for name in ("links", "assets", "openlineage", "run_context", "compat", "get_provider_info", "xcom_keys")
        ),
        AIRFLOW_FACE_FORBIDDEN,
    ),
    Row("CLI", (f"{PACKAGE}.cli.app", f"{PACKAGE}.cli.entry"), ("airflow", "pyspark")),
    # controls: the probe sees a load where there is one
    Row(
        "control: the hook class loads boto3",
        (f"{PACKAGE}.hooks.pipeline_registry",),
        ("boto3",),
        code=f"import {PACKAGE}.hooks.pipeline_registry as m; m.PipelineRegistryHook",
        holds=False,
    ),
    Row("control: the gateway loads boto3", (f"{PACKAGE}.registry.gateway",), ("boto3", "botocore"), holds=False),
]


def probe(row: Row) -> dict[str, object]:
    spec = {"modules": row.modules, "forbidden": row.forbidden, "walk": row.walk, "code": row.code}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(spec)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [line for line in result.stdout.splitlines() if line.startswith("BOUNDARY=")]
    assert len(reports) == 1, result.stdout[-3000:]
    report: dict[str, object] = json.loads(reports[0].removeprefix("BOUNDARY="))
    return report


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_import_boundary(row: Row) -> None:
    report = probe(row)
    if row.holds:
        assert report["error"] is None, f"{row.name}: {report['error']}"
        assert report["loaded"] == [], f"{row.name} loaded {report['loaded']}"
        assert set(row.modules) <= set(report["imported"])  # type: ignore[arg-type]
        assert len(report["imported"]) >= row.min_modules  # type: ignore[arg-type]
    else:
        assert report["error"] is not None or report["loaded"], f"{row.name}: the probe saw no load"
