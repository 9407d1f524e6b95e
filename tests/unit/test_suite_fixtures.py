"""The suite's layout rules: one registry fixture and one Airflow metadata DB fixture (in
tests/conftest.py, built by tests/registry_fixtures.py), and no test module importing from a
``conftest`` (ambiguous once several test directories run in one pytest call)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _where(pattern: str) -> list[str]:
    regex = re.compile(pattern, re.MULTILINE)
    return [str(p.relative_to(TESTS)) for p in SOURCES if regex.search(p.read_text(encoding="utf-8"))]


def test_one_registry_fixture_and_one_airflow_db_fixture() -> None:
    assert _where(r"^def (make_registry|airflow_db|ui_airflow_db)\(") == ["conftest.py"]
    # the metadata DB is migrated by that fixture only (lineage_runner.py is a separate process)
    assert _where(r"^\s+resetdb\(\)") == ["airflow/lineage_runner.py", "conftest.py"]
    # tables are created by the one builder, the hook fixture, or a test of creation itself
    creators = _where(r"^\s+\w+\.create_tables\(")
    assert set(creators) <= {
        "registry_fixtures.py",
        "airflow/conftest.py",  # registry_hook: the hook's own create_tables, on the test's connection
        "ui/ui_seed.py",  # seed(): the UI's session data
        "ui/ui_scale_seed.py",  # seed_many(): 10,000 pipelines on a private DynamoDB Local the test freezes
        "spark/test_run_logger_spark.py",  # the Spark driver's own config (env passed to spark-submit)
        "deployment/conftest.py",  # the deployed components' registry (its config is their environment)
        "unit/test_registry_moto.py",  # moto in-process, not the session's DynamoDB
    }, creators


def test_no_test_module_imports_from_a_conftest() -> None:
    assert _where(r"^\s*(from conftest import|import conftest)") == []
