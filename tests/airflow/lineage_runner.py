"""Run DAGs of tests/dags/lineage_dags.py with ``dag.test()`` in a fresh process (own metadata DB).

Used by test_openlineage_dag.py: the OpenLineage provider reads its configuration once per process,
so each scenario (file transport on, provider absent) needs its own. The caller sets the Airflow
environment (AIRFLOW_HOME, DB, dags folder, connections, OpenLineage transport). Writes its JSON
summary ``{"states": {dag_id: state}, "facets": {...}}`` to SUMMARY_FILE at the end: a file, not
stdout, where the OpenLineage thread's log lines could run into the summary's line.

    python lineage_runner.py [--block-openlineage] SUMMARY_FILE DAG_ID ...

``--block-openlineage`` installs a ``sys.meta_path`` finder that makes the OpenLineage client
(``openlineage``) and the provider's modules unimportable, as if the provider were not installed
(only the provider's entry point stays loadable, see ALLOWED).
"""

from __future__ import annotations

import importlib.abc
import json
import sys
from typing import Any

BLOCKED = ("openlineage", "airflow.providers.openlineage")
#: still importable: Airflow's provider discovery loads the installed distribution's entry point
#: (an installed but unimportable provider would crash it; an absent one has no entry point at all)
ALLOWED = ("airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info")


class BlockOpenLineage(importlib.abc.MetaPathFinder):
    """Refuses to import the OpenLineage client and provider."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname in ALLOWED:
            return None
        if any(fullname == name or fullname.startswith(name + ".") for name in BLOCKED):
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by the test)", name=fullname)
        return None


def main(argv: list[str]) -> int:
    blocked = "--block-openlineage" in argv
    summary_file, *dag_ids = [a for a in argv if not a.startswith("--")]
    if blocked:
        sys.meta_path.insert(0, BlockOpenLineage())
    from airflow.utils.db import resetdb

    resetdb()
    sys.path.insert(0, sys.argv[0].rsplit("/", 2)[0])  # tests/ for dag_modules
    from dag_modules import load_dag_module

    dags = load_dag_module("lineage_dags.py")
    states: dict[str, str] = {}
    for dag_id in dag_ids:
        dag = next(d for d in vars(dags).values() if getattr(d, "dag_id", None) == dag_id and hasattr(d, "test"))
        states[dag_id] = str(dag.test().state)
    facets: dict[str, Any] = {}
    if blocked:  # the OpenLineage methods answer None, the lineage helper too
        from airflow_provider_pipeline_registry.openlineage import operator_lineage

        end = dags.success_dag.get_task("end")
        facets = {
            "openlineage_importable": any(m == "openlineage" or m.startswith("openlineage.") for m in sys.modules),
            "on_start": repr(end.get_openlineage_facets_on_start()),
            "operator_lineage": repr(operator_lineage(dags.TABLES)),
        }
    with open(summary_file, "w", encoding="utf-8") as out:
        json.dump({"states": states, "facets": facets}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
